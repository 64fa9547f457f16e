import type { Validator } from '@cfworker/json-schema';
import { kindNamed } from './lexicon';
import { fieldKey } from './placeholders';

// update_parameters' deterministic pass: values that are literally in the text — `name: value`, an enum
// value named, an ISO date, a time, a number next to the field's own words, "in <Place>" for a place. They
// win over the model's values (the text says so), unless the result would not validate; the model fills
// the rest. Only top-level properties are read. Why: docs/design/prompt-compiler.md#update_parameters

type Schema = Record<string, unknown>;
type Value = string | number | boolean;

const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function typesOf(s: Schema): string[] {
  return Array.isArray(s.type)
    ? s.type.filter((t): t is string => typeof t === 'string')
    : typeof s.type === 'string'
      ? [s.type]
      : [];
}

// The words a text uses for the field: its key and its title ("price_range" → "price range").
function labels(key: string, s: Schema): string[] {
  const out = new Set([key.replace(/_/g, ' ').toLowerCase()]);
  if (typeof s.title === 'string' && s.title.trim() !== '') out.add(s.title.trim().toLowerCase());
  return [...out].filter((l) => l.length > 0 && l.length <= 60);
}

function explicit(text: string, names: string[]): string | undefined {
  for (const name of names) {
    const m = new RegExp(`(?:^|[\\s,;(])${escape(name)}\\s*(?::|=|\\bis\\b)\\s*([^,;\\n.]+(?:\\.\\d+)?)`, 'i').exec(
      text,
    );
    const v = m?.[1]?.trim();
    if (v) return v;
  }
  return undefined;
}

function enumValue(text: string, key: string, options: unknown[]): Value | undefined {
  const strings = options.filter((o): o is string => typeof o === 'string' && o.length > 0);
  const named = strings.find((o) => new RegExp(`(^|[^\\p{L}\\p{N}])${escape(o)}($|[^\\p{L}\\p{N}])`, 'iu').test(text));
  if (named !== undefined) return named;
  const synonyms = kindNamed(fieldKey(key))?.synonyms ?? {};
  for (const [value, pattern] of Object.entries(synonyms))
    if (strings.includes(value) && pattern.test(text)) return value;
  return undefined;
}

const ISO_DATE = /\b(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))\b/;
const CLOCK = /\b([01]?\d|2[0-3]):([0-5]\d)\b/;
const MERIDIEM = /\b(1[0-2]|0?[1-9])(?::([0-5]\d))?\s*(am|pm)\b/i;

function timeIn(text: string): string | undefined {
  const c = CLOCK.exec(text);
  if (c) return `${(c[1] ?? '').padStart(2, '0')}:${c[2]}`;
  const m = MERIDIEM.exec(text);
  if (!m) return undefined;
  let h = Number(m[1]) % 12;
  if ((m[3] ?? '').toLowerCase() === 'pm') h += 12;
  return `${String(h).padStart(2, '0')}:${m[2] ?? '00'}`;
}

function numberNear(text: string, names: string[], money: boolean): number | undefined {
  const num = '(\\d+(?:\\.\\d+)?)';
  for (const name of names) {
    const words = name.split(' ').filter((w) => w.length > 2);
    for (const w of words) {
      const stem = escape(w.replace(/s$/, ''));
      const m =
        new RegExp(`\\b${num}\\s+(?:\\w+\\s+)?${stem}`, 'i').exec(text) ??
        new RegExp(`\\b${stem}\\w*\\s+(?:of\\s+|is\\s+|under\\s+|below\\s+|up to\\s+)?[$€£]?${num}`, 'i').exec(text);
      if (m?.[1]) return Number(m[1]);
    }
  }
  if (money) {
    const m = /[$€£]\s?(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s?(?:dollars|euros|pounds|usd|eur|gbp)\b/i.exec(text);
    const v = m?.[1] ?? m?.[2];
    if (v) return Number(v);
  }
  return undefined;
}

const PLACE = /\b(?:in|near|around|at)\s+((?:[A-Z][\p{L}'-]+)(?:[ ,]+(?:[A-Z][\p{L}'-]+))*)/u;

function coerce(raw: string, types: string[]): Value | undefined {
  if (types.includes('integer') && /^-?\d+$/.test(raw)) return Number(raw);
  if (types.includes('number') && /^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (types.includes('boolean') && /^(true|false|yes|no)$/i.test(raw)) return /^(true|yes)$/i.test(raw);
  if (types.includes('string') || types.length === 0) return raw;
  return undefined;
}

function valueFor(text: string, key: string, s: Schema): Value | undefined {
  const types = typesOf(s);
  const names = labels(key, s);
  const stated = explicit(text, names);
  if (Array.isArray(s.enum)) return enumValue(stated ?? text, key, s.enum) ?? enumValue(text, key, s.enum);
  if (stated !== undefined) return coerce(stated, types);
  const kind = kindNamed(fieldKey(key));
  if (types.includes('string') && s.format === 'date') return ISO_DATE.exec(text)?.[1];
  if (types.includes('string') && (kind?.field.key === 'time' || s.format === 'time')) {
    const t = timeIn(text);
    return t && s.format === 'time' ? `${t}:00Z` : t;
  }
  if (types.includes('number') || types.includes('integer')) {
    const n = numberNear(text, names, kind?.field.key === 'budget' || /price|cost|budget|amount/.test(key));
    if (n === undefined) return undefined;
    return types.includes('integer') && !types.includes('number') && !Number.isInteger(n) ? undefined : n;
  }
  if (types.includes('string') && kind?.field.key === 'location') return PLACE.exec(text)?.[1]?.trim();
  return undefined;
}

/** Values the text states, one per top-level property it finds one for. */
export function valuesInText(text: string, schema: Schema): Record<string, Value> {
  const props = isSchema(schema.properties) ? schema.properties : {};
  const out: Record<string, Value> = {};
  for (const [key, sub] of Object.entries(props)) {
    if (!isSchema(sub)) continue;
    const v = valueFor(text, key, sub);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

export interface Merged {
  values: Record<string, unknown>;
  sources: Record<string, 'text' | 'model'>;
}

/** The text's values over the model's, each kept only if the whole still validates. */
export function mergeValues(
  model: Record<string, unknown>,
  fromText: Record<string, Value>,
  validator: Validator,
): Merged {
  const values: Record<string, unknown> = { ...model };
  const sources: Record<string, 'text' | 'model'> = Object.fromEntries(Object.keys(model).map((k) => [k, 'model']));
  for (const [key, value] of Object.entries(fromText)) {
    const candidate = { ...values, [key]: value };
    if (validator.validate(candidate).valid) {
      values[key] = value;
      sources[key] = 'text';
    }
  }
  return { values, sources };
}
