import type { Context } from 'hono';
import type { AppEnv } from '../../env';
import { ApiError } from '../../lib/errors';
import { checkedPrompt, type ModelChoice, targetModel } from './compile';
import { mergeValues, valuesInText } from './extract';
import { callerSchemaValidator } from './json-schema';
import { ValuesOutput } from './model-output';
import { answeringModel, structuredCall } from './structured';

export interface UpdateParametersInput extends ModelChoice {
  prompt?: string | undefined;
  text?: string | undefined;
  schema: Record<string, unknown>;
}

export async function updateParameters(c: Context<AppEnv>, body: UpdateParametersInput) {
  const field = body.prompt !== undefined ? 'prompt' : 'text';
  const raw = body.prompt ?? body.text;
  if (raw === undefined || raw.trim() === '') {
    throw new ApiError('VALIDATION_ERROR', undefined, {
      details: [{ field: 'prompt', message: 'Required: the text to read values from' }],
    });
  }
  const text = checkedPrompt(raw, field);
  // The caller's schema is checked before any model call: a bad schema costs nothing.
  const validator = callerSchemaValidator(body.schema);
  const system = [
    "Extract the values of the parameters below from the user's text.",
    'Answer with one JSON object that is valid against this JSON Schema (draft 2020-12). Leave out optional',
    'parameters the text does not give; for required ones the text does not give, use the default or a sensible value.',
    '',
    JSON.stringify(body.schema),
  ].join('\n');
  const answer = await structuredCall(c, {
    dialect: 'prompt-update-parameters',
    name: 'parameters',
    schema: body.schema,
    validator,
    envelope: ValuesOutput,
    system,
    user: text,
    text,
    model: answeringModel(targetModel(body), c.var.config),
  });
  const merged = mergeValues(answer.value, valuesInText(text, body.schema), validator);
  return { values: merged.values, sources: merged.sources, model: answer.model, model_calls: answer.calls };
}
