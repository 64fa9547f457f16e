// A form field as the compiler thinks of it, before it becomes JSON Schema + UI hints (./form.ts).
export const FIELD_TYPES = ['string', 'number', 'integer', 'boolean'] as const;
export const FIELD_FORMATS = ['date', 'date-time', 'email', 'uri'] as const;
export const WIDGETS = ['text', 'textarea', 'select', 'radio', 'number', 'date', 'time', 'checkbox'] as const;

export type FieldType = (typeof FIELD_TYPES)[number];
export type FieldFormat = (typeof FIELD_FORMATS)[number];
export type Widget = (typeof WIDGETS)[number];
export type FieldSource = 'placeholder' | 'model' | 'lexicon';

export interface FieldSpec {
  key: string;
  title: string;
  description: string;
  type: FieldType;
  enum?: string[];
  enumTitles?: string[];
  format?: FieldFormat;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  default?: string | number | boolean;
  examples?: string[];
  required: boolean;
  widget: Widget;
  placeholder?: string;
  source: FieldSource;
}
