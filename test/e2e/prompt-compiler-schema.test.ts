// The forms POST /api/v1/prompt_compiler/compile/form returns are checked with a validator that is not
// the one the code uses (@cfworker/json-schema): Ajv's draft 2020-12 build, against the official
// 2020-12 meta-schema, in strict mode. Ajv compiles validators with `new Function`, which workerd refuses,
// so this runs in Node against `wrangler dev` (the local provider: no keys, no network).
// Ajv 8 comes here as @redocly/ajv (Redocly's fork of ajv 8, already installed with @redocly/cli); the
// top-level `ajv` package of this tree is ajv 6, which has no draft 2020-12.
import Ajv2020 from '@redocly/ajv/dist/2020';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, postJson, startDevServer } from './helpers/dev-server';

type Json = Record<string, unknown>;

let server: DevServer;

beforeAll(async () => {
  server = await startDevServer({ vars: { ALLOW_ANONYMOUS: 'true' } });
});

afterAll(async () => {
  await server?.stop();
});

const PROMPTS = [
  'Find good restaurants',
  'Write a {{tone}} email to {{recipient_name}} about {{topic}}, due {{date}}',
  'Book a table for dinner tomorrow and translate the confirmation into Spanish',
  'Explain how photosynthesis works',
  'Plan a trip to {{city}} on a budget',
];

// Strict: unknown keywords, ignored defaults and the like are errors, not warnings. Formats are not
// asserted (a form's "date" is an annotation for the UI as much as a check).
const strictAjv = () => new Ajv2020({ strict: true, validateFormats: false, allErrors: true });

describe('compile/form schemas are valid draft 2020-12 (Ajv 2020, strict)', () => {
  it('the checker itself refuses an invalid schema', () => {
    const ajv = strictAjv();
    expect(ajv.validateSchema({ type: 'objekt' })).toBe(false);
    expect(ajv.validateSchema({ type: 'object', properties: { a: { minLength: -1 } } })).toBe(false);
    expect(() =>
      ajv.compile({ type: 'object', properties: { a: { type: 'string', ui: { widget: 'text' } } } }),
    ).toThrow(/unknown keyword/);
  });

  it.each(PROMPTS)('form of %j', async (prompt) => {
    const body = await postJson(server, '/api/v1/prompt_compiler/compile/form', { prompt, modelid: 'gpt-4' });
    const schema = body.schema as Json;
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const ajv = strictAjv();
    const ok = ajv.validateSchema(schema);
    expect(ajv.errors ?? [], JSON.stringify(ajv.errors)).toEqual([]);
    expect(ok).toBe(true);
    const validate = ajv.compile(schema);
    expect(Object.keys(schema.properties as Json).length).toBeGreaterThan(0);

    // Values read from a text validate against the same form.
    const values = await postJson(server, '/api/v1/prompt_compiler/update_parameters', {
      prompt: 'cheap Italian food for 4 people in Lisbon on 2026-12-24 at 8pm, tone: formal',
      schema,
    });
    const valid = validate(values.values);
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the restaurant form has location, cuisine and price range, and its values are read from a text', async () => {
    const form = await postJson(server, '/api/v1/prompt_compiler/compile/form', { prompt: 'Find good restaurants' });
    expect(Object.keys((form.schema as { properties: Json }).properties)).toEqual([
      'location',
      'cuisine',
      'price_range',
    ]);
    const values = await postJson(server, '/api/v1/prompt_compiler/update_parameters', {
      prompt: 'Somewhere cheap in Lisbon, cuisine: Italian',
      schema: form.schema,
    });
    expect(values.values).toEqual({ location: 'Lisbon', cuisine: 'Italian', price_range: 'budget' });
  });
});
