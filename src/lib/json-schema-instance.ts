// A minimal, deterministic instance of a JSON Schema: what the local provider answers for structured
// output and what the mock upstream sends when a test gives no `[[json:...]]` marker. Only required
// properties are filled and every choice takes the first option, so the same schema always yields the
// same document. It covers the keywords models' schemas use (not the whole of draft 2020-12): anything it
// does not understand becomes null.

type Schema = Record<string, unknown>;

const MAX_DEPTH = 32;

const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

// `#/$defs/name` and `#/definitions/name` (JSON Pointer, with ~1 and ~0 unescaped).
function resolveRef(root: Schema, ref: string): Schema | undefined {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = root;
  for (const raw of ref
    .slice(1)
    .split('/')
    .filter((s) => s !== '')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isSchema(node)) return undefined;
    node = node[key];
  }
  return isSchema(node) ? node : undefined;
}

function stringFor(schema: Schema): string {
  const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  let s: string;
  switch (schema.format) {
    case 'date':
      return '2024-01-01';
    case 'date-time':
      return '2024-01-01T00:00:00Z';
    case 'time':
      return '00:00:00Z';
    case 'email':
      return 'user@example.com';
    case 'uri':
    case 'url':
      return 'https://example.com/';
    case 'uuid':
      return '00000000-0000-4000-8000-000000000000';
    default:
      s = 'text';
  }
  while (s.length < min) s += 'x';
  return s.length > max ? s.slice(0, Math.max(min, max)) : s;
}

function numberFor(schema: Schema, integer: boolean): number {
  const min = typeof schema.minimum === 'number' ? schema.minimum : undefined;
  const exMin = typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum : undefined;
  const max = typeof schema.maximum === 'number' ? schema.maximum : undefined;
  const exMax = typeof schema.exclusiveMaximum === 'number' ? schema.exclusiveMaximum : undefined;
  let n = 0;
  if (min !== undefined) n = min;
  if (exMin !== undefined) n = integer ? Math.floor(exMin) + 1 : exMin + 1;
  if (max !== undefined && n > max) n = max;
  if (exMax !== undefined && n >= exMax) n = integer ? Math.ceil(exMax) - 1 : exMax - 1;
  return integer ? Math.ceil(n) : n;
}

// Given values first: a schema's own const, default, first example or first enum value wins.
function given(schema: Schema): { value: unknown } | undefined {
  if ('const' in schema) return { value: schema.const };
  if ('default' in schema) return { value: schema.default };
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return { value: schema.examples[0] };
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return { value: schema.enum[0] };
  return undefined;
}

function typeOf(schema: Schema): string | undefined {
  if (typeof schema.type === 'string') return schema.type;
  if (Array.isArray(schema.type)) {
    // The first non-null type: null is the least useful instance.
    const types = schema.type.filter((t): t is string => typeof t === 'string');
    return types.find((t) => t !== 'null') ?? types[0];
  }
  if (isSchema(schema.properties) || Array.isArray(schema.required)) return 'object';
  if (schema.items !== undefined || schema.prefixItems !== undefined) return 'array';
  return undefined;
}

function instance(schema: unknown, root: Schema, depth: number): unknown {
  if (schema === true || schema === undefined) return null;
  if (!isSchema(schema) || depth > MAX_DEPTH) return null;
  if (typeof schema.$ref === 'string') {
    const target = resolveRef(root, schema.$ref);
    const { $ref: _ref, ...rest } = schema;
    return instance(target ? { ...target, ...rest } : rest, root, depth + 1);
  }
  const fixed = given(schema);
  if (fixed) return fixed.value;
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    // Merged object schemas (the common use of allOf); other combinations take the merged keywords.
    const { allOf, ...rest } = schema;
    const merged: Schema = { ...rest };
    const properties: Schema = isSchema(rest.properties) ? { ...rest.properties } : {};
    const required = new Set<string>(Array.isArray(rest.required) ? (rest.required as string[]) : []);
    for (const part of allOf as unknown[]) {
      const p = isSchema(part) && typeof part.$ref === 'string' ? (resolveRef(root, part.$ref) ?? {}) : part;
      if (!isSchema(p)) continue;
      Object.assign(merged, p);
      if (isSchema(p.properties)) Object.assign(properties, p.properties);
      if (Array.isArray(p.required)) for (const r of p.required) if (typeof r === 'string') required.add(r);
    }
    if (Object.keys(properties).length > 0) merged.properties = properties;
    if (required.size > 0) merged.required = [...required];
    delete merged.allOf;
    return instance(merged, root, depth + 1);
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0) {
      const { [key]: _options, ...rest } = schema;
      const first = options.find((o) => !(isSchema(o) && o.type === 'null')) ?? options[0];
      return instance(isSchema(first) ? { ...rest, ...first } : first, root, depth + 1);
    }
  }
  switch (typeOf(schema)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const properties = isSchema(schema.properties) ? schema.properties : {};
      const required = Array.isArray(schema.required) ? schema.required : [];
      for (const name of required) {
        if (typeof name !== 'string') continue;
        out[name] = instance(properties[name] ?? {}, root, depth + 1);
      }
      return out;
    }
    case 'array': {
      const min = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
      const out: unknown[] = [];
      for (let i = 0; i < Math.max(min, 0); i++) {
        out.push(instance(i < prefix.length ? prefix[i] : (schema.items ?? {}), root, depth + 1));
      }
      return out;
    }
    case 'string':
      return stringFor(schema);
    case 'integer':
      return numberFor(schema, true);
    case 'number':
      return numberFor(schema, false);
    case 'boolean':
      return false;
    default:
      return null;
  }
}

export function jsonSchemaInstance(schema: unknown): unknown {
  return instance(schema, isSchema(schema) ? schema : {}, 0);
}
