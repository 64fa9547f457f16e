import { DRAFT_2020_12 } from './json-schema';
import type { FieldSpec } from './fields';
import { kindNamed, kindsIn } from './lexicon';
import { LIMITS } from './limits';
import { type Placeholder, titleOf } from './placeholders';

export interface UiHint {
  'ui:widget': string;
  'ui:placeholder'?: string;
  'ui:help'?: string;
  'ui:enumNames'?: string[];
}

// The form: a draft 2020-12 schema with only standard keywords (so any validator, strict ones included,
// takes it), and the UI hints beside it in the react-jsonschema-form `uiSchema` convention.
export interface Form {
  schema: Record<string, unknown>;
  ui_schema: Record<string, UiHint | string[]> & { 'ui:order': string[] };
}

/** A placeholder as a field: typed by the lexicon when its name is a known kind (`{{date}}` is a date). */
export function placeholderField(p: Placeholder): FieldSpec {
  const kind = kindNamed(p.key);
  const base = kind
    ? { ...kind.field, key: p.key, title: titleOf(p.key) }
    : {
        key: p.key,
        title: titleOf(p.key),
        description: `The value of {{${p.name}}} in the prompt.`,
        type: 'string' as const,
        widget: 'text' as const,
      };
  // A placeholder must be filled for the prompt to make sense: required, and no default stands in for it.
  const { default: _unused, ...rest } = base;
  return { ...rest, required: true, source: 'placeholder' };
}

/** The lexicon's fields for a prompt's words, optional and with their defaults. */
export function lexiconFields(prompt: string): FieldSpec[] {
  return kindsIn(prompt).map((k) => ({ ...k.field, required: false, source: 'lexicon' }));
}

/** Fields in order, one per key: earlier lists win (placeholders, then the model's, then the lexicon's). */
export function mergeFields(...lists: FieldSpec[][]): FieldSpec[] {
  const byKey = new Map<string, FieldSpec>();
  for (const list of lists) {
    for (const f of list) if (!byKey.has(f.key) && byKey.size < LIMITS.formFields) byKey.set(f.key, f);
  }
  return [...byKey.values()];
}

function propertyOf(f: FieldSpec): Record<string, unknown> {
  return {
    title: f.title,
    description: f.description,
    type: f.type,
    ...(f.enum ? { enum: f.enum } : {}),
    ...(f.format ? { format: f.format } : {}),
    ...(f.pattern ? { pattern: f.pattern } : {}),
    ...(f.minimum !== undefined ? { minimum: f.minimum } : {}),
    ...(f.maximum !== undefined ? { maximum: f.maximum } : {}),
    ...(f.default !== undefined ? { default: f.default } : {}),
    ...(f.examples && f.examples.length > 0 ? { examples: f.examples } : {}),
  };
}

function hintOf(f: FieldSpec): UiHint {
  return {
    'ui:widget': f.widget,
    ...(f.placeholder ? { 'ui:placeholder': f.placeholder } : {}),
    ...(f.description ? { 'ui:help': f.description } : {}),
    ...(f.enum && f.enumTitles && f.enumTitles.length === f.enum.length ? { 'ui:enumNames': f.enumTitles } : {}),
  };
}

export function buildForm(prompt: string, fields: FieldSpec[]): Form {
  const properties: Record<string, unknown> = {};
  const ui: Form['ui_schema'] = { 'ui:order': fields.map((f) => f.key) };
  for (const f of fields) {
    properties[f.key] = propertyOf(f);
    ui[f.key] = hintOf(f);
  }
  const shown = prompt.length > 200 ? `${prompt.slice(0, 200)}…` : prompt;
  return {
    schema: {
      $schema: DRAFT_2020_12,
      title: 'Prompt parameters',
      description: `Parameters of the prompt: ${shown}`,
      type: 'object',
      properties,
      required: fields.filter((f) => f.required).map((f) => f.key),
      additionalProperties: false,
    },
    ui_schema: ui,
  };
}
