import { createRoute } from '@hono/zod-openapi';
import { createRouter, errorResponses } from '../../lib/router';
import { AI, protect } from '../accounts';
import { compileForm, compilePrompt } from './compile';
import {
  CompileAnswer,
  CompileBody,
  FormAnswer,
  FormBody,
  UpdateParametersAnswer,
  UpdateParametersBody,
} from './schemas';
import { updateParameters } from './update-parameters';

// The prompt compiler (seed 004), under /api/v1/prompt_compiler. Any member, API key or (with
// ALLOW_ANONYMOUS) anonymous caller, like every AI call; each model call goes through the gateway
// pipeline. Why: docs/design/prompt-compiler.md
export const promptCompilerRoutes = createRouter();

const TAGS = ['prompt-compiler'];
const ERRORS = errorResponses(400, 401, 403, 413, 429, 502, 503, 504);
const json = <T>(schema: T) => ({ 'application/json': { schema } });

promptCompilerRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/prompt_compiler/compile',
    operationId: 'compilePrompt',
    tags: TAGS,
    summary: 'Improve a prompt for a model, with the reason for each change',
    description:
      "Rewrites the prompt for the model named by `modelid` (GPT models get Markdown sections, Claude models XML tags) and lists the `{{name}}` placeholders, found without a model. One structured model call (two if its first answer is invalid; 502 after a second invalid answer, its problems in `details`). When the model proposes no change — the local provider's answer never does — the compiler's rule-based rewrite is returned (`source: 'rules'`).",
    middleware: [protect(AI)],
    request: { body: { required: true, content: json(CompileBody) } },
    responses: { 200: { description: 'The compiled prompt', content: json(CompileAnswer) }, ...ERRORS },
  }),
  async (c) => c.json(await compilePrompt(c, c.req.valid('json')), 200),
);

promptCompilerRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/prompt_compiler/compile/form',
    operationId: 'compilePromptForm',
    tags: TAGS,
    summary: "A prompt's parameters as a JSON Schema draft 2020-12 form with UI hints",
    description:
      "A prompt with `{{name}}` placeholders is answered from them alone, with no model call (unless `infer: true`). Otherwise the model lists the parameters (structured output, validated, retried once, 502 after a second invalid answer); when it lists none (the local provider), the compiler's lexicon of common parameters (location, cuisine, price range, date, time, party size, budget, language, tone, length, audience) gives them from the prompt's words. `schema` uses only standard keywords; UI hints are in `ui_schema`.",
    middleware: [protect(AI)],
    request: { body: { required: true, content: json(FormBody) } },
    responses: { 200: { description: 'The form', content: json(FormAnswer) }, ...ERRORS },
  }),
  async (c) => c.json(await compileForm(c, c.req.valid('json')), 200),
);

promptCompilerRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/prompt_compiler/update_parameters',
    operationId: 'updatePromptParameters',
    tags: TAGS,
    summary: 'Read parameter values out of a text, valid against a schema',
    description:
      "The schema must be a JSON Schema draft 2020-12 of an object (400 otherwise; 413 beyond 32 KiB or 100 properties). The model answers with the schema as its structured-output format (validated, retried once, 502 after a second invalid answer); values stated literally in the text (`name: value`, an enum value, an ISO date, a time, a number next to the field's words) win where they keep the whole valid.",
    middleware: [protect(AI)],
    request: { body: { required: true, content: json(UpdateParametersBody) } },
    responses: { 200: { description: 'The values', content: json(UpdateParametersAnswer) }, ...ERRORS },
  }),
  async (c) => c.json(await updateParameters(c, c.req.valid('json')), 200),
);
