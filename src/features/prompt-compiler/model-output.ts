import { type Schema, Validator } from '@cfworker/json-schema';
import { z } from '@hono/zod-openapi';
import { FIELD_FORMATS, FIELD_TYPES, WIDGETS } from './fields';
import { LIMITS } from './limits';

// The JSON Schemas the model's structured answers must follow (sent as the provider's response format
// and checked with @cfworker/json-schema), and the zod envelopes that type them and check what a schema
// cannot say. Kept small and flat: vendors' structured-output modes take only a subset of JSON Schema.

export const COMPILE_OUTPUT_SCHEMA: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  required: ['compiled_prompt', 'reasons'],
  properties: {
    compiled_prompt: { type: 'string', minLength: 1, maxLength: 40_000 },
    reasons: { type: 'array', maxItems: 20, items: { type: 'string', minLength: 1, maxLength: 500 } },
  },
};

export const CompileOutput = z.object({
  compiled_prompt: z.string().min(1),
  reasons: z.array(z.string().min(1)),
});
export type CompileOutput = z.infer<typeof CompileOutput>;

export const FORM_OUTPUT_SCHEMA: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  required: ['parameters'],
  properties: {
    parameters: {
      type: 'array',
      maxItems: LIMITS.formFields,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'title', 'description', 'type'],
        properties: {
          name: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,63}$' },
          title: { type: 'string', minLength: 1, maxLength: 100 },
          description: { type: 'string', maxLength: 500 },
          type: { enum: [...FIELD_TYPES] },
          enum: { type: 'array', maxItems: 50, items: { type: 'string', minLength: 1, maxLength: 100 } },
          format: { enum: [...FIELD_FORMATS] },
          minimum: { type: 'number' },
          maximum: { type: 'number' },
          default: { type: ['string', 'number', 'boolean'] },
          required: { type: 'boolean' },
          widget: { enum: [...WIDGETS] },
          placeholder: { type: 'string', maxLength: 200 },
        },
      },
    },
  },
};

const Parameter = z
  .object({
    name: z.string(),
    title: z.string(),
    description: z.string(),
    type: z.enum(FIELD_TYPES),
    enum: z.array(z.string()).optional(),
    format: z.enum(FIELD_FORMATS).optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    required: z.boolean().optional(),
    widget: z.enum(WIDGETS).optional(),
    placeholder: z.string().optional(),
  })
  // What would make the form itself wrong: said back to the model on the retry.
  .superRefine((p, ctx) => {
    if (p.enum && p.type !== 'string')
      ctx.addIssue({ code: 'custom', path: ['enum'], message: 'enum is only for type "string"' });
    if (p.format && p.type !== 'string')
      ctx.addIssue({ code: 'custom', path: ['format'], message: 'format is only for type "string"' });
    if (p.minimum !== undefined && p.maximum !== undefined && p.minimum > p.maximum) {
      ctx.addIssue({ code: 'custom', path: ['minimum'], message: 'minimum is greater than maximum' });
    }
    if (p.default !== undefined) {
      const ok =
        p.type === 'string'
          ? typeof p.default === 'string' && (!p.enum || p.enum.includes(p.default))
          : p.type === 'boolean'
            ? typeof p.default === 'boolean'
            : typeof p.default === 'number' &&
              (p.type === 'number' || Number.isInteger(p.default)) &&
              (p.minimum === undefined || p.default >= p.minimum) &&
              (p.maximum === undefined || p.default <= p.maximum);
      if (!ok)
        ctx.addIssue({
          code: 'custom',
          path: ['default'],
          message: `default does not fit type "${p.type}" and its limits`,
        });
    }
  });

export const FormOutput = z.object({
  parameters: z.array(Parameter).superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((p, i) => {
      if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate name "${p.name}"` });
      seen.add(p.name);
    });
  }),
});
export type FormOutput = z.infer<typeof FormOutput>;

export const compileOutputValidator = new Validator(COMPILE_OUTPUT_SCHEMA as Schema, '2020-12', false);
export const formOutputValidator = new Validator(FORM_OUTPUT_SCHEMA as Schema, '2020-12', false);

// update_parameters: the caller's schema decides; the envelope only says the answer is an object.
export const ValuesOutput = z.record(z.string(), z.unknown());
