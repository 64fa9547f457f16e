type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

// Keys whose values are never written, whatever object they sit in.
const SECRET_KEY = /(authorization|api[-_]?key|secret|password|token|cookie|credential)/i;

function redact(value: unknown, depth = 0): unknown {
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

// Credential-shaped strings inside free text (error messages from SDKs or drivers).
const SECRET_TEXT = /\b(sk-[A-Za-z0-9_-]{6,}|ew_[A-Za-z0-9_-]{6,}|Bearer\s+[A-Za-z0-9._~+/=-]{6,})/g;

function scrub(line: string, secrets: readonly string[]): string {
  let out = line.replace(SECRET_TEXT, '[redacted]');
  for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join('[redacted]');
  return out;
}

// One JSON object per line so Workers Logs and `wrangler tail` can filter on fields. Configured
// secret values are scrubbed from the whole line, wherever they turn up.
export function createLogger(base: Record<string, unknown>, secrets: readonly string[] = []): Logger {
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    const raw = JSON.stringify({
      level,
      msg,
      time: new Date().toISOString(),
      ...base,
      ...(redact(fields ?? {}) as object),
    });
    const line = scrub(raw, secrets);
    if (level === 'error') console.error(line);
    else if (level === 'warn') console.warn(line);
    else console.log(line);
  };
  return {
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
  };
}

// What may be logged of an unknown thrown value: its kind and message, never a stack with bound values.
export function describeError(err: unknown): { name: string; message: string } {
  if (err instanceof Error) return { name: err.name, message: err.message.slice(0, 500) };
  return { name: typeof err, message: 'non-Error thrown' };
}
