import { z } from '@hono/zod-openapi';

// Request and answer shapes of /api/v1/prompt_compiler (seed 004). The model may be named `modelid` (the
// seed's spelling), `model_id` or `model`.

const ModelField = z.string().trim().min(1).max(200);
// Its length is checked by the handler (413, not 400): a long prompt is too large, not malformed.
const PromptField = z
  .string()
  .refine((s) => s.trim() !== '', 'Must not be empty')
  .openapi({ example: 'Find good restaurants' });

const modelFields = {
  modelid: ModelField.optional().openapi({
    example: 'gpt-4',
    description:
      'The model the prompt is for (a catalogue id or provider:model). It also answers when its provider is configured here; otherwise the default model does.',
  }),
  model_id: ModelField.optional().openapi({ description: 'Same as modelid' }),
  model: ModelField.optional().openapi({ description: 'Same as modelid' }),
};

export const CompileBody = z.object({ prompt: PromptField, ...modelFields }).openapi('PromptCompileRequest');

export const FormBody = z
  .object({
    prompt: PromptField,
    ...modelFields,
    infer: z.boolean().optional().openapi({
      description:
        'Ask the model for parameters even when the prompt has {{placeholders}} (by default a prompt with placeholders is answered from them alone, with no model call).',
    }),
  })
  .openapi('PromptFormRequest');

export const UpdateParametersBody = z
  .object({
    prompt: z
      .string()
      .optional()
      .openapi({ description: 'The text to read the values from', example: 'Cheap Italian food in Lisbon' }),
    text: z.string().optional().openapi({ description: 'Same as prompt' }),
    schema: z
      .record(z.string(), z.unknown())
      .openapi({ description: 'A JSON Schema draft 2020-12 of an object (e.g. the schema compile/form returned)' }),
    ...modelFields,
  })
  .openapi('PromptUpdateParametersRequest');

const PlaceholderSchema = z
  .object({
    name: z.string().openapi({ description: 'As written between the braces' }),
    key: z.string().openapi({ description: 'Its form field key (snake_case)' }),
    occurrences: z.number().int(),
  })
  .openapi('PromptPlaceholder');

const AnsweredBySchema = z
  .object({ provider: z.string(), model: z.string() })
  .openapi('PromptCompilerModel', { description: 'The model that answered' });

export const CompileAnswer = z
  .object({
    prompt: z.string(),
    compiled_prompt: z.string(),
    reasons: z.array(z.string()).openapi({ description: 'One reason per change' }),
    placeholders: z
      .array(PlaceholderSchema)
      .openapi({ description: 'The {{name}} placeholders, found without a model' }),
    target_model: z.string().nullable().openapi({ description: 'The model the prompt was compiled for' }),
    model: AnsweredBySchema,
    source: z.enum(['model', 'rules']).openapi({
      description:
        "'model': the model's rewrite; 'rules': the compiler's own rule-based rewrite, used when the model proposed no change (e.g. the local provider)",
    }),
    model_calls: z.number().int().openapi({ description: '1, or 2 when the first structured answer was invalid' }),
  })
  .openapi('PromptCompileAnswer');

export const FormAnswer = z
  .object({
    prompt: z.string(),
    schema: z.record(z.string(), z.unknown()).openapi({
      description:
        'JSON Schema draft 2020-12 of the parameters: type object, properties with title, description, type, enum/format/pattern/minimum/maximum, default, examples',
    }),
    ui_schema: z.record(z.string(), z.unknown()).openapi({
      description:
        "UI hints (react-jsonschema-form uiSchema convention): 'ui:order', and per field 'ui:widget', 'ui:placeholder', 'ui:help', 'ui:enumNames'",
    }),
    fields: z
      .array(z.object({ key: z.string(), source: z.enum(['placeholder', 'model', 'lexicon']) }))
      .openapi({ description: 'Where each field came from' }),
    placeholders: z.array(PlaceholderSchema),
    model: AnsweredBySchema.nullable().openapi({ description: 'null when no model was asked' }),
    model_calls: z.number().int(),
  })
  .openapi('PromptFormAnswer');

export const UpdateParametersAnswer = z
  .object({
    values: z.record(z.string(), z.unknown()).openapi({ description: 'Valid against the given schema' }),
    sources: z
      .record(z.string(), z.enum(['text', 'model']))
      .openapi({ description: "'text': stated literally in the text; 'model': the model's answer" }),
    model: AnsweredBySchema,
    model_calls: z.number().int(),
  })
  .openapi('PromptUpdateParametersAnswer');
