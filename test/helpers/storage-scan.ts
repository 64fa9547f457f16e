import { env, listDurableObjectIds, runInDurableObject } from 'cloudflare:test';

// Text dumps of everything the worker can have stored, for tests that search them (e.g. for secrets
// that must never be kept). Binary values are decoded as UTF-8 so bytes holding a string still match.

const decoder = new TextDecoder();

// A bounded, cycle-safe rendering of any value: Maps, Sets and byte arrays included, functions
// skipped. `skipKeys` keeps out what is not the object's own state (its bindings and context).
export function render(value: unknown, skipKeys: ReadonlySet<string> = new Set(), depth = 0, seen = new Set()): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value !== 'object') return '';
  if (seen.has(value) || depth > 12) return '<seen>';
  seen.add(value);
  const next = (v: unknown) => render(v, skipKeys, depth + 1, seen);
  if (value instanceof ArrayBuffer) return decoder.decode(value);
  if (ArrayBuffer.isView(value))
    return decoder.decode(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  if (value instanceof Map) return `Map{${[...value].map(([k, v]) => `${next(k)}: ${next(v)}`).join(', ')}}`;
  if (value instanceof Set || Array.isArray(value)) return `[${[...value].map(next).join(', ')}]`;
  if (value instanceof Date) return value.toISOString();
  const entries = Object.entries(value).filter(([k, v]) => !skipKeys.has(k) && typeof v !== 'function');
  return `{${entries.map(([k, v]) => `${k}: ${next(v)}`).join(', ')}}`;
}

export async function d1Dump(db: D1Database = env.DB): Promise<string> {
  const tables = await db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations'",
    )
    .all<{ name: string }>();
  const dumps: string[] = [];
  for (const { name } of tables.results) {
    dumps.push(`${name}: ${JSON.stringify((await db.prepare(`SELECT * FROM "${name}"`).all()).results)}`);
  }
  return dumps.join('\n');
}

// Every key (with its metadata) and every value of a KV namespace.
export async function kvDump(kv: KVNamespace): Promise<{ keys: number; text: string }> {
  const parts: string[] = [];
  let keys = 0;
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<unknown> = await kv.list(cursor ? { cursor } : {});
    for (const key of page.keys) {
      keys++;
      const { value, metadata } = await kv.getWithMetadata(key.name, 'text');
      parts.push(`${key.name} ${render(key.metadata)} ${render(metadata)} ${value ?? ''}`);
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return { keys, text: parts.join('\n') };
}

// Every object of an R2 bucket: key, metadata and body.
export async function r2Dump(bucket: R2Bucket): Promise<{ objects: number; text: string }> {
  const parts: string[] = [];
  let objects = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ include: ['httpMetadata', 'customMetadata'], ...(cursor ? { cursor } : {}) });
    for (const listed of page.objects) {
      objects++;
      const object = await bucket.get(listed.key);
      parts.push(
        `${listed.key} ${render(listed.httpMetadata)} ${render(listed.customMetadata)} ${object ? await object.text() : ''}`,
      );
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return { objects, text: parts.join('\n') };
}

// A namespace whose objects the worker reaches through it are noted, so a test can visit objects that
// keep nothing in storage (listDurableObjectIds only knows objects with stored data).
// `dump()` reads every object of the namespace, noted or stored (durableObjectDump).
export function noteObjects<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
): { namespace: DurableObjectNamespace<T>; ids: Set<string>; dump(): Promise<{ objects: number; text: string }> } {
  const ids = new Set<string>();
  const noted = new Proxy(namespace, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop === 'get') {
        return (id: DurableObjectId, options?: DurableObjectNamespaceGetDurableObjectOptions) => {
          ids.add(id.toString());
          return target.get(id, options);
        };
      }
      if (prop === 'getByName') {
        return (name: string, options?: DurableObjectNamespaceGetDurableObjectOptions) => {
          ids.add(target.idFromName(name).toString());
          return target.getByName(name, options);
        };
      }
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
  return {
    namespace: noted,
    ids,
    dump: () => durableObjectDump(namespace as unknown as DurableObjectNamespace, ids),
  };
}

const NOT_STATE = new Set(['ctx', 'env', 'state']);

// Each object's storage (the key-value API and every SQL table) and its in-memory fields, as text.
export async function durableObjectDump(
  namespace: DurableObjectNamespace,
  alsoIds: Iterable<string> = [],
): Promise<{ objects: number; text: string }> {
  const ids = new Set([...(await listDurableObjectIds(namespace)).map((id) => id.toString()), ...alsoIds]);
  const parts: string[] = [];
  for (const id of ids) {
    const stub = namespace.get(namespace.idFromString(id));
    parts.push(
      await runInDurableObject(stub, async (instance: DurableObject, state) => {
        const out = [`object ${id}`, render(instance, NOT_STATE)];
        out.push(render(await state.storage.list()));
        const tables = state.storage.sql
          .exec<{ name: string }>(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'sqlite_%'",
          )
          .toArray();
        for (const { name } of tables) {
          out.push(`${name}: ${render(state.storage.sql.exec(`SELECT * FROM "${name}"`).toArray())}`);
        }
        return out.join('\n');
      }),
    );
  }
  return { objects: ids.size, text: parts.join('\n') };
}

// Stands in for a Queue producer binding: keeps a copy of every message body, then hands the message
// on to `forward` (the real queue, so its consumer still runs) when there is one.
export function queueSpy<T>(forward?: Queue<T>): { queue: Queue<T>; bodies: T[] } {
  const bodies: T[] = [];
  const queue = {
    async send(body: T, options?: QueueSendOptions) {
      bodies.push(structuredClone(body));
      await forward?.send(body, options);
    },
    async sendBatch(messages: Iterable<MessageSendRequest<T>>, options?: QueueSendBatchOptions) {
      const list = [...messages];
      for (const m of list) bodies.push(structuredClone(m.body));
      await forward?.sendBatch(list, options);
    },
  };
  return { queue: queue as unknown as Queue<T>, bodies };
}
