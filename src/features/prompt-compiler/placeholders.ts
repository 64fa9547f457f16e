import { LIMITS } from './limits';

export interface Placeholder {
  // As written between the braces, trimmed: `{{ price range }}` → "price range".
  name: string;
  // The form field's key: snake_case of the name (letters, digits, underscores).
  key: string;
  // Times it occurs in the prompt.
  occurrences: number;
}

// `{{name}}` with a name of letters, digits, spaces, dots, dashes or underscores (Mustache/Jinja style).
// `{{{x}}}` and `{{#section}}` are not parameters: the first character must be a letter or underscore.
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_. -]{0,63}?)\s*\}\}/g;

export function fieldKey(name: string): string {
  const key = name
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return key === '' ? 'field' : /^[0-9]/.test(key) ? `f_${key}` : key.slice(0, 64);
}

/** The placeholders of a prompt, in order of first appearance, one per key. No model involved. */
export function findPlaceholders(prompt: string): Placeholder[] {
  const byKey = new Map<string, Placeholder>();
  for (const m of prompt.matchAll(PLACEHOLDER)) {
    const name = (m[1] ?? '').trim();
    const key = fieldKey(name);
    const found = byKey.get(key);
    if (found) found.occurrences++;
    else if (byKey.size < LIMITS.placeholders) byKey.set(key, { name, key, occurrences: 1 });
  }
  return [...byKey.values()];
}

/** A key's words for a title: "price_range" → "Price range". */
export function titleOf(key: string): string {
  const words = key.replace(/_/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
