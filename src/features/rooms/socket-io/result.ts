// A value or a typed error: the protocol layer never throws on what a client sends.
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const err = <E>(error: E): { ok: false; error: E } => ({ ok: false, error });

// What JSON.parse can return, and all a Socket.IO payload may carry (binary attachments are not supported).
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function isJsonObject(value: unknown): value is JsonObject {
  // socket.io-parser's isObject: Object.prototype.toString gives "[object Object]" for plain objects only.
  return Object.prototype.toString.call(value) === '[object Object]';
}
