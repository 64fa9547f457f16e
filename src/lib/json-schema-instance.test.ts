import { describe, expect, it } from 'vitest';
import { jsonSchemaInstance } from './json-schema-instance';

describe('jsonSchemaInstance', () => {
  it('fills required properties only, with each type at its smallest', () => {
    expect(
      jsonSchemaInstance({
        type: 'object',
        properties: {
          name: { type: 'string', minLength: 8 },
          age: { type: 'integer', minimum: 18, maximum: 99 },
          score: { type: 'number', exclusiveMinimum: 0.5 },
          ok: { type: 'boolean' },
          nothing: { type: 'null' },
          tags: { type: 'array', items: { type: 'string' }, minItems: 2 },
          optional: { type: 'string' },
        },
        required: ['name', 'age', 'score', 'ok', 'nothing', 'tags'],
      }),
    ).toEqual({ name: 'textxxxx', age: 18, score: 1.5, ok: false, nothing: null, tags: ['text', 'text'] });
  });

  it('prefers const, default, examples and enum, in that order', () => {
    expect(jsonSchemaInstance({ const: 'c', default: 'd' })).toBe('c');
    expect(jsonSchemaInstance({ type: 'string', default: 'd', examples: ['e'] })).toBe('d');
    expect(jsonSchemaInstance({ type: 'string', examples: ['e'], enum: ['x'] })).toBe('e');
    expect(jsonSchemaInstance({ type: 'string', enum: ['cheap', 'dear'] })).toBe('cheap');
  });

  it('writes the formats models are asked for', () => {
    const formats = ['date', 'date-time', 'email', 'uri'].map((format) =>
      jsonSchemaInstance({ type: 'string', format }),
    );
    expect(formats).toEqual(['2024-01-01', '2024-01-01T00:00:00Z', 'user@example.com', 'https://example.com/']);
  });

  it('follows $ref into $defs and takes the first non-null option of anyOf / oneOf, merging allOf', () => {
    const schema = {
      type: 'object',
      $defs: { place: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      properties: {
        where: { $ref: '#/$defs/place' },
        maybe: { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 3 }] },
        either: { oneOf: [{ type: 'boolean' }, { type: 'string' }] },
        both: {
          allOf: [
            { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] },
            { properties: { b: { type: 'integer' } }, required: ['b'] },
          ],
        },
      },
      required: ['where', 'maybe', 'either', 'both'],
    };
    expect(jsonSchemaInstance(schema)).toEqual({
      where: { city: 'text' },
      maybe: 3,
      either: false,
      both: { a: 'text', b: 0 },
    });
  });

  it('is deterministic and survives recursive or unknown schemas', () => {
    const tree = {
      $defs: { node: { type: 'object', properties: { child: { $ref: '#/$defs/node' } }, required: ['child'] } },
      $ref: '#/$defs/node',
    };
    const a = JSON.stringify(jsonSchemaInstance(tree));
    expect(a).toBe(JSON.stringify(jsonSchemaInstance(tree)));
    expect(jsonSchemaInstance({ $ref: '#/$defs/missing' })).toBeNull();
    expect(jsonSchemaInstance(true)).toBeNull();
    expect(jsonSchemaInstance({ type: ['null', 'string'] })).toBe('text');
  });
});
