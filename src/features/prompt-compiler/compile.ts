import type { Context } from 'hono';
import type { AppEnv } from '../../env';
import { ApiError } from '../../lib/errors';
import type { FieldSpec, Widget } from './fields';
import { buildForm, lexiconFields, mergeFields, placeholderField } from './form';
import { metaValidate } from './json-schema';
import { kindsIn } from './lexicon';
import { LIMITS } from './limits';
import {
  COMPILE_OUTPUT_SCHEMA,
  CompileOutput,
  compileOutputValidator,
  FORM_OUTPUT_SCHEMA,
  FormOutput,
  formOutputValidator,
} from './model-output';
import { findPlaceholders, fieldKey, type Placeholder } from './placeholders';
import { ruleCompile } from './rules';
import { answeringModel, structuredCall } from './structured';

export interface ModelChoice {
  modelid?: string | undefined;
  model_id?: string | undefined;
  model?: string | undefined;
}

export const targetModel = (body: ModelChoice): string | undefined => body.modelid ?? body.model_id ?? body.model;

/** A prompt within the compiler's cap (413 beyond: too large, not malformed). */
export function checkedPrompt(prompt: string, field = 'prompt'): string {
  if (prompt.length > LIMITS.promptChars) {
    throw new ApiError('PAYLOAD_TOO_LARGE', `The prompt is longer than ${LIMITS.promptChars} characters`, {
      details: [{ field, message: `${prompt.length} characters; at most ${LIMITS.promptChars}` }],
    });
  }
  return prompt;
}

const placeholderList = (ps: Placeholder[]) => ps.map((p) => `{{${p.name}}}`).join(', ');

export async function compilePrompt(c: Context<AppEnv>, body: ModelChoice & { prompt: string }) {
  const prompt = checkedPrompt(body.prompt);
  const target = targetModel(body);
  const placeholders = findPlaceholders(prompt);
  const rules = ruleCompile(prompt, target, placeholders);
  // A rewrite that drops an input would break every caller that fills it in: told back on the retry.
  const envelope = CompileOutput.superRefine((out, ctx) => {
    if (out.reasons.length === 0) return;
    const lost = placeholders.filter((p) => !out.compiled_prompt.includes(`{{${p.name}}}`));
    if (lost.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['compiled_prompt'],
        message: `drops the placeholders ${placeholderList(lost)}`,
      });
    }
  });
  const system = [
    `You are a prompt engineer. Rewrite the user's prompt so that ${target ? `the model "${target}"` : 'a large language model'} answers it as well as possible.`,
    "Keep the prompt's intent. Keep every {{placeholder}} exactly as written.",
    'Answer with one JSON object: {"compiled_prompt": the improved prompt, "reasons": one short reason per change}.',
    'If the prompt needs no change, answer it unchanged with an empty "reasons" list.',
    '',
    'A rule-based draft you may improve or ignore:',
    rules.compiled,
  ].join('\n');
  const answer = await structuredCall(c, {
    dialect: 'prompt-compile',
    name: 'compiled_prompt',
    schema: COMPILE_OUTPUT_SCHEMA,
    validator: compileOutputValidator,
    envelope,
    system,
    user: prompt,
    text: prompt,
    model: answeringModel(target, c.var.config),
  });
  // A model that gives no reason proposes no change (the local provider's structured answer is a bare
  // schema instance): the rule-based rewrite is the answer then.
  const fromModel = answer.value.reasons.length > 0;
  return {
    prompt,
    compiled_prompt: fromModel ? answer.value.compiled_prompt : rules.compiled,
    reasons: fromModel ? answer.value.reasons : rules.reasons,
    placeholders,
    target_model: target ?? null,
    model: answer.model,
    source: fromModel ? ('model' as const) : ('rules' as const),
    model_calls: answer.calls,
  };
}

function widgetFor(p: FormOutput['parameters'][number]): Widget {
  if (p.widget) return p.widget;
  if (p.enum) return 'select';
  if (p.type === 'boolean') return 'checkbox';
  if (p.type === 'number' || p.type === 'integer') return 'number';
  if (p.format === 'date' || p.format === 'date-time') return 'date';
  return 'text';
}

function modelField(p: FormOutput['parameters'][number]): FieldSpec {
  return {
    key: fieldKey(p.name),
    title: p.title,
    description: p.description,
    type: p.type,
    ...(p.enum && p.enum.length > 0 ? { enum: [...new Set(p.enum)] } : {}),
    ...(p.format ? { format: p.format } : {}),
    ...(p.minimum !== undefined ? { minimum: p.minimum } : {}),
    ...(p.maximum !== undefined ? { maximum: p.maximum } : {}),
    ...(p.default !== undefined ? { default: p.default } : {}),
    required: p.required ?? false,
    widget: widgetFor(p),
    ...(p.placeholder ? { placeholder: p.placeholder } : {}),
    source: 'model',
  };
}

export async function compileForm(
  c: Context<AppEnv>,
  body: ModelChoice & { prompt: string; infer?: boolean | undefined },
) {
  const prompt = checkedPrompt(body.prompt);
  const target = targetModel(body);
  const placeholders = findPlaceholders(prompt);
  const fromPlaceholders = placeholders.map(placeholderField);
  let fields: FieldSpec[];
  let model: { provider: string; model: string } | null = null;
  let calls = 0;
  if (placeholders.length > 0 && body.infer !== true) {
    // The prompt declares its parameters: no model is needed (nor charged) to find them.
    fields = mergeFields(fromPlaceholders);
  } else {
    const suggested = kindsIn(prompt).map((k) => k.field.key);
    const system = [
      "You design input forms for prompts. List the parameters a person would fill in to run the user's prompt:",
      'the details it leaves open that change the answer. For each: name (snake_case), title, description,',
      'type (string, number, integer or boolean), and where they help: enum (strings), format (date, date-time,',
      'email, uri), minimum, maximum, default, required, widget, placeholder.',
      'Answer with one JSON object: {"parameters": [...]}.',
      ...(placeholders.length > 0
        ? [`The prompt's placeholders are parameters already: ${placeholderList(placeholders)}.`]
        : []),
      ...(suggested.length > 0
        ? [`A rule-based pass suggests: ${suggested.join(', ')}. Keep, rename or drop them.`]
        : []),
    ].join('\n');
    const answer = await structuredCall(c, {
      dialect: 'prompt-compile-form',
      name: 'prompt_parameters',
      schema: FORM_OUTPUT_SCHEMA,
      validator: formOutputValidator,
      envelope: FormOutput,
      system,
      user: prompt,
      text: prompt,
      model: answeringModel(target, c.var.config),
    });
    model = answer.model;
    calls = answer.calls;
    const fromModel = answer.value.parameters.map(modelField);
    // A model that names no parameter (the local provider's bare schema instance) leaves the lexicon's.
    fields = mergeFields(fromPlaceholders, fromModel, fromModel.length === 0 ? lexiconFields(prompt) : []);
  }
  const form = buildForm(prompt, fields);
  // The form is ours to get right: a schema that is not draft 2020-12 is a bug here, not the caller's.
  const errors = metaValidate(form.schema);
  if (errors.length > 0) throw new ApiError('INTERNAL_ERROR', 'The generated form is not a valid JSON Schema');
  return {
    prompt,
    schema: form.schema,
    ui_schema: form.ui_schema,
    fields: fields.map((f) => ({ key: f.key, source: f.source })),
    placeholders,
    model,
    model_calls: calls,
  };
}
