import { type OutputUnit, type Schema, Validator } from '@cfworker/json-schema';
import { ApiError, type ErrorDetail } from '../../lib/errors';
import { LIMITS } from './limits';

export const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

// The draft 2020-12 meta-schema (json-schema.org/draft/2020-12/schema and its seven vocabularies) as one
// document. Why not the official files: they recurse through `$dynamicRef: "#meta"`, which
// @cfworker/json-schema does not implement (it would skip every nested subschema). Without extension
// vocabularies that reference always lands on the root meta-schema, so here it is a plain `$ref: "#"`,
// and the vocabularies' `properties` (which never share a name) are merged into one object.
const META = { $ref: '#' };
const schemaArray = { type: 'array', minItems: 1, items: META };
const nonNegativeInteger = { type: 'integer', minimum: 0 };
const stringArray = { type: 'array', items: { type: 'string' }, uniqueItems: true };
const simpleTypes = { enum: ['array', 'boolean', 'integer', 'null', 'number', 'object', 'string'] };
const anchorString = { type: 'string', pattern: '^[A-Za-z_][-A-Za-z0-9._]*$' };
const uriString = { type: 'string', format: 'uri' };
const uriReferenceString = { type: 'string', format: 'uri-reference' };
const schemaMap = { type: 'object', additionalProperties: META };

export const META_SCHEMA_2020_12: Record<string, unknown> = {
  type: ['object', 'boolean'],
  properties: {
    // core
    $id: { ...uriReferenceString, pattern: '^[^#]*#?$' },
    $schema: uriString,
    $ref: uriReferenceString,
    $anchor: anchorString,
    $dynamicRef: uriReferenceString,
    $dynamicAnchor: anchorString,
    $vocabulary: { type: 'object', propertyNames: uriString, additionalProperties: { type: 'boolean' } },
    $comment: { type: 'string' },
    $defs: schemaMap,
    // applicator
    prefixItems: schemaArray,
    items: META,
    contains: META,
    additionalProperties: META,
    properties: schemaMap,
    patternProperties: { ...schemaMap, propertyNames: { format: 'regex' } },
    dependentSchemas: schemaMap,
    propertyNames: META,
    if: META,
    then: META,
    else: META,
    allOf: schemaArray,
    anyOf: schemaArray,
    oneOf: schemaArray,
    not: META,
    // unevaluated
    unevaluatedItems: META,
    unevaluatedProperties: META,
    // validation
    type: { anyOf: [simpleTypes, { type: 'array', items: simpleTypes, minItems: 1, uniqueItems: true }] },
    enum: { type: 'array' },
    multipleOf: { type: 'number', exclusiveMinimum: 0 },
    maximum: { type: 'number' },
    exclusiveMaximum: { type: 'number' },
    minimum: { type: 'number' },
    exclusiveMinimum: { type: 'number' },
    maxLength: nonNegativeInteger,
    minLength: nonNegativeInteger,
    pattern: { type: 'string', format: 'regex' },
    maxItems: nonNegativeInteger,
    minItems: nonNegativeInteger,
    uniqueItems: { type: 'boolean' },
    maxContains: nonNegativeInteger,
    minContains: nonNegativeInteger,
    maxProperties: nonNegativeInteger,
    minProperties: nonNegativeInteger,
    required: stringArray,
    dependentRequired: { type: 'object', additionalProperties: stringArray },
    // meta-data
    title: { type: 'string' },
    description: { type: 'string' },
    deprecated: { type: 'boolean' },
    readOnly: { type: 'boolean' },
    writeOnly: { type: 'boolean' },
    examples: { type: 'array' },
    // format-annotation
    format: { type: 'string' },
    // content
    contentEncoding: { type: 'string' },
    contentMediaType: { type: 'string' },
    contentSchema: META,
    // the root meta-schema's keywords of earlier drafts, still constrained
    definitions: schemaMap,
    dependencies: { type: 'object', additionalProperties: { anyOf: [META, stringArray] } },
    $recursiveAnchor: anchorString,
    $recursiveRef: uriReferenceString,
  },
};

const metaValidator = new Validator(META_SCHEMA_2020_12 as Schema, '2020-12', false);

// cfworker's messages name the keyword and the place; a few of them are enough for a caller to act on.
// The deepest errors first: "/size: 99 is greater than 3" says more than "/: Property size does not match".
export function detailsOf(errors: OutputUnit[], field: string, max = 5): ErrorDetail[] {
  const seen = new Set<string>();
  const out: ErrorDetail[] = [];
  const deepestFirst = errors
    .map((e, i) => ({ e, i, depth: e.instanceLocation.split('/').length }))
    .sort((a, b) => b.depth - a.depth || a.i - b.i)
    .map((x) => x.e);
  for (const e of deepestFirst) {
    const where = e.instanceLocation.replace(/^#/, '');
    const message = `${where || '/'}: ${e.error}`;
    if (seen.has(message)) continue;
    seen.add(message);
    out.push({ field, message: message.slice(0, 300) });
    if (out.length >= max) break;
  }
  return out;
}

function depthOf(value: unknown, depth = 0): number {
  if (depth > LIMITS.schemaDepth) return depth;
  if (typeof value !== 'object' || value === null) return depth;
  let max = depth;
  for (const v of Object.values(value)) max = Math.max(max, depthOf(v, depth + 1));
  return max;
}

function countKey(value: unknown, key: string): number {
  if (typeof value !== 'object' || value === null) return 0;
  let n = 0;
  for (const [k, v] of Object.entries(value)) {
    if (k === key && typeof v === 'object' && v !== null && !Array.isArray(v)) n += Object.keys(v).length;
    n += countKey(v, key);
  }
  return n;
}

// Why not a network fetch or a reference to another document: the validator runs at the edge with no
// registry of schemas, so only references inside the caller's schema itself can be resolved.
function externalRef(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [k, v] of Object.entries(value)) {
    if ((k === '$ref' || k === '$dynamicRef') && typeof v === 'string' && !v.startsWith('#')) return v;
    const inner = externalRef(v);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

// A `#/json/pointer` or `#anchor` reference that leads nowhere in the schema itself.
function danglingRef(root: unknown): string | undefined {
  const anchors = new Set<string>();
  const refs: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v !== 'object' || v === null) return;
    for (const [k, inner] of Object.entries(v)) {
      if ((k === '$anchor' || k === '$dynamicAnchor') && typeof inner === 'string') anchors.add(inner);
      if ((k === '$ref' || k === '$dynamicRef') && typeof inner === 'string') refs.push(inner);
      walk(inner);
    }
  };
  walk(root);
  for (const ref of refs) {
    if (ref === '#' || ref === '') continue;
    if (!ref.startsWith('#/')) {
      if (!anchors.has(ref.slice(1))) return ref;
      continue;
    }
    let node: unknown = root;
    for (const raw of ref.slice(2).split('/')) {
      const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
    }
    if (typeof node !== 'boolean' && (typeof node !== 'object' || node === null || Array.isArray(node))) return ref;
  }
  return undefined;
}

const bad = (field: string, message: string) =>
  new ApiError('VALIDATION_ERROR', 'The schema is not a usable JSON Schema draft 2020-12 document', {
    details: [{ field, message }],
  });

/**
 * Checks a caller's schema: size caps (413), then a draft 2020-12 schema of an object (400 otherwise),
 * then that a validator can be built from it. Returns that validator.
 */
export function callerSchemaValidator(schema: unknown, field = 'schema'): Validator {
  const size = new TextEncoder().encode(JSON.stringify(schema) ?? '').length;
  if (size > LIMITS.schemaBytes) {
    throw new ApiError('PAYLOAD_TOO_LARGE', `The schema is larger than ${LIMITS.schemaBytes} bytes`, {
      details: [{ field, message: `${size} bytes; at most ${LIMITS.schemaBytes}` }],
    });
  }
  const properties = countKey(schema, 'properties');
  if (properties > LIMITS.schemaProperties) {
    throw new ApiError('PAYLOAD_TOO_LARGE', `The schema has more than ${LIMITS.schemaProperties} properties`, {
      details: [{ field, message: `${properties} properties; at most ${LIMITS.schemaProperties}` }],
    });
  }
  if (depthOf(schema) > LIMITS.schemaDepth) throw bad(field, `Nested deeper than ${LIMITS.schemaDepth} levels`);
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw bad(field, 'Must be a JSON Schema object');
  }
  const doc = schema as Record<string, unknown>;
  if (doc.$schema !== undefined && doc.$schema !== DRAFT_2020_12) {
    throw bad(`${field}.$schema`, `Only draft 2020-12 is accepted: "${DRAFT_2020_12}"`);
  }
  const meta = metaValidator.validate(schema);
  if (!meta.valid) {
    throw new ApiError('VALIDATION_ERROR', 'The schema is not a valid JSON Schema draft 2020-12 document', {
      details: detailsOf(meta.errors, field),
    });
  }
  if (doc.type !== 'object') throw bad(`${field}.type`, 'The parameters must be described as "type": "object"');
  const ref = externalRef(schema);
  if (ref !== undefined) throw bad(field, `Only references inside the schema are resolved, not '${ref.slice(0, 100)}'`);
  const dangling = danglingRef(schema);
  if (dangling !== undefined) throw bad(field, `The reference '${dangling.slice(0, 100)}' leads nowhere in the schema`);
  try {
    const validator = new Validator(schema as Schema, '2020-12', false);
    validator.validate({});
    return validator;
  } catch (err) {
    throw bad(field, err instanceof Error ? err.message.slice(0, 300) : 'The schema cannot be compiled');
  }
}

/** True with no errors when `schema` is a valid draft 2020-12 document (used on the forms we build). */
export function metaValidate(schema: unknown): OutputUnit[] {
  return metaValidator.validate(schema).errors;
}
