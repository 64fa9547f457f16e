import { z } from 'zod';

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
    .optional()
    .transform((v) => (v === undefined ? fallback : v === 'true' || v === '1' || v === 'yes'));

const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be an integer between ${min} and ${max}` });
        return z.NEVER;
      }
      return n;
    });

const num = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isFinite(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be a number between ${min} and ${max}` });
        return z.NEVER;
      }
      return n;
    });

const secret = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const httpUrl = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === '') return undefined;
    try {
      const url = new URL(v.trim());
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
      return url.toString().replace(/\/$/, '');
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an http(s) URL' });
      return z.NEVER;
    }
  });

const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );

// Providers whose OpenAI-wire /embeddings the semantic cache can use; Groq speaks the same wire for
// chat but has no embeddings endpoint, and the other vendors speak other wires.
export const EMBEDDING_PROVIDERS = ['openai', 'openai-compatible'] as const;
export type EmbeddingProvider = (typeof EMBEDDING_PROVIDERS)[number];

const EMBEDDING_PROVIDER_ALIASES: Record<string, EmbeddingProvider> = {
  openai: 'openai',
  'openai-compatible': 'openai-compatible',
  openai_compatible: 'openai-compatible',
  ollama: 'openai-compatible',
};

// `provider:model`, or empty for the local embedder. The model becomes part of a Durable Object
// name next to `|` separators, so it is limited to the characters model ids actually use.
const embeddingModel = z
  .string()
  .optional()
  .transform((v, ctx): { provider: EmbeddingProvider; model: string } | undefined => {
    if (v === undefined || v.trim() === '') return undefined;
    const spec = v.trim();
    const colon = spec.indexOf(':');
    const prefix = colon > 0 ? spec.slice(0, colon).toLowerCase() : '';
    const model = colon > 0 ? spec.slice(colon + 1) : '';
    if (prefix === '' || !/^[A-Za-z0-9._:/@-]{1,200}$/.test(model)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be provider:model such as openai:text-embedding-3-small, or empty for the local embedder',
      });
      return z.NEVER;
    }
    const provider = EMBEDDING_PROVIDER_ALIASES[prefix];
    if (provider === undefined) {
      const known = ['groq', 'anthropic', 'bedrock', 'aws', 'local'].includes(prefix);
      ctx.addIssue({
        code: 'custom',
        message:
          prefix === 'groq'
            ? 'names groq, which has no embeddings API; use openai or openai-compatible'
            : known
              ? 'names a provider without an OpenAI-wire embeddings API; use openai or openai-compatible'
              : 'names an unknown provider; use openai or openai-compatible',
      });
      return z.NEVER;
    }
    return { provider, model };
  });

const ConfigSchema = z
  .object({
    ENVIRONMENT: z.enum(['development', 'test', 'production']).default('development'),
    OPENAI_API_KEY: secret,
    OPENAI_BASE_URL: httpUrl,
    OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
    ANTHROPIC_API_KEY: secret,
    ANTHROPIC_BASE_URL: httpUrl,
    GROQ_API_KEY: secret,
    GROQ_BASE_URL: httpUrl,
    BEDROCK_BASE_URL: httpUrl,
    AWS_ACCESS_KEY_ID: secret,
    AWS_SECRET_ACCESS_KEY: secret,
    // Becomes part of the Bedrock host name, so only a real region shape is accepted.
    AWS_REGION: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as us-east-1')
      .optional(),
    OPENAI_COMPATIBLE_BASE_URL: httpUrl,
    OPENAI_COMPATIBLE_API_KEY: secret,
    OPENAI_COMPATIBLE_MODEL: z.string().min(1).default('llama3.1'),
    DEFAULT_PROVIDER: z.enum(['auto', 'local', 'openai']).default('auto'),
    JWT_SECRET_KEY: secret,
    ACCESS_TOKEN_TTL_SECONDS: int(86_400, 60, 30 * 86_400),
    REFRESH_TOKEN_TTL_SECONDS: int(30 * 86_400, 300, 365 * 86_400),
    // How long an isolate may reuse a verified API key or session (and its organization's tier) without
    // reading D1 again: the bound on how late a logout, revocation, role change or removal is seen.
    // 0 checks every request.
    IDENTITY_CACHE_TTL_SECONDS: int(5, 0, 300),
    REGISTRATION_ENABLED: bool(true),
    DEFAULT_QUOTA_LIMIT: int(1_000, 0, 1_000_000_000),
    LOGIN_MAX_ATTEMPTS_PER_ACCOUNT: int(10, 1, 10_000),
    LOGIN_MAX_ATTEMPTS_PER_IP: int(50, 1, 100_000),
    LOGIN_WINDOW_SECONDS: int(900, 10, 86_400),
    GOOGLE_AUTH_URL: httpUrl,
    GOOGLE_TOKEN_URL: httpUrl,
    GOOGLE_JWKS_URL: httpUrl,
    GOOGLE_ISSUER: z.string().optional(),
    GOOGLE_CLIENT_ID: secret,
    GOOGLE_CLIENT_SECRET: secret,
    BASE_URL: httpUrl,
    BASE_PATH: z
      .string()
      .optional()
      .transform((v) => (v ?? '').replace(/\/+$/, '')),
    CORS_ORIGINS: list,
    ALLOW_ANONYMOUS: bool(false),
    EMAIL_WHITELIST: list,
    METRICS_TOKEN: secret,
    // The request log's fine-grained data, pruned by the scheduled cleanup (docs/design/analytics.md): request
    // events (performance analytics read them) and minute rollups (hourly usage analytics). Day rollups stay.
    REQUEST_EVENTS_RETENTION_DAYS: int(30, 1, 365),
    MINUTE_ROLLUPS_RETENTION_DAYS: int(7, 1, 90),
    MAX_BODY_BYTES: int(1_048_576, 1_024, 100 * 1_048_576),
    // Chat uploads (multipart, several files per request): each file, and the whole request.
    MAX_UPLOAD_FILE_BYTES: int(25 * 1_048_576, 1, 1_024 * 1_048_576),
    MAX_UPLOAD_REQUEST_BYTES: int(100 * 1_048_576, 1, 4 * 1_024 * 1_048_576),
    MAX_FILES_PER_UPLOAD: int(10, 1, 1_000),
    MAX_TEXT_CHARS: int(32_000, 1, 1_000_000),
    PROVIDER_TIMEOUT_MS: int(30_000, 100, 600_000),
    RETRY_MAX_RETRIES: int(2, 0, 10),
    RETRY_BASE_DELAY_MS: int(200, 0, 60_000),
    RETRY_MAX_DELAY_MS: int(5_000, 0, 120_000),
    FALLBACK_MODELS: list,
    SSE_KEEPALIVE_MS: int(15_000, 10, 300_000),
    STREAM_HOLD_MS: int(1_000, 0, 60_000),
    // A pause between the local model's streamed words (0: none), so a slow model can be shown offline:
    // an answer seen growing, a stream stopped halfway. Development and demos only; hosted providers ignore it.
    LOCAL_STREAM_DELAY_MS: int(0, 0, 5_000),
    CACHE_TTL_SECONDS: int(3_600, 60, 30 * 86_400),
    // Per client (API key, else user, else IP): a token bucket of RATE_LIMIT_BURST refilled at
    // RATE_LIMIT_PER_MINUTE (100/min, burst 20). Per organization per hour by tier.
    RATE_LIMIT_ENABLED: bool(true),
    RATE_LIMIT_PER_MINUTE: int(100, 1, 1_000_000),
    RATE_LIMIT_BURST: int(20, 1, 1_000_000),
    TIER_LIMIT_FREE: int(100, 1, 100_000_000),
    TIER_LIMIT_PRO: int(1_000, 1, 100_000_000),
    TIER_LIMIT_ENTERPRISE: int(10_000, 1, 100_000_000),
    WS_CONNECTIONS_PER_MINUTE: int(5, 1, 100_000),
    // Realtime rooms: members per room, and the largest inbound frame (larger ones are refused).
    ROOM_MAX_MEMBERS: int(200, 1, 10_000),
    WS_MAX_FRAME_BYTES: int(65_536, 1_024, 1_048_576),
    // Socket.IO heartbeat (Engine.IO's pingInterval / pingTimeout, advertised in each handshake).
    SIO_PING_INTERVAL_MS: int(25_000, 1_000, 300_000),
    SIO_PING_TIMEOUT_MS: int(20_000, 1_000, 300_000),
    // Orchestration runs: how often a running phase checks whether its run was cancelled, how many times
    // the engine retries a failing phase (with exponential backoff from ORCHESTRATION_RETRY_DELAY_MS), and
    // the per-phase estimate used before the organization has finished phases to average.
    ORCHESTRATION_CANCEL_POLL_MS: int(500, 50, 60_000),
    ORCHESTRATION_PHASE_RETRIES: int(3, 0, 10),
    ORCHESTRATION_RETRY_DELAY_MS: int(2_000, 100, 600_000),
    ORCHESTRATION_PHASE_ESTIMATE_SECONDS: int(60, 1, 86_400),
    // A running run whose Workflow has shown no sign of life for this long is given a new instance (a local
    // restart leaves instances in flight orphaned); far above a phase's retry backoff.
    ORCHESTRATION_STALL_SECONDS: int(120, 2, 86_400),
    // An isolate leases limit and quota tokens from the limiter objects in blocks of at most
    // LIMIT_LEASE_MAX, spendable for LIMIT_LEASE_TTL_MS; 0 asks the object on every request.
    // Why: docs/design/rate-limits.md#leases
    LIMIT_LEASE_TTL_MS: int(1_000, 0, 60_000),
    LIMIT_LEASE_MAX: int(32, 1, 10_000),
    // POST /v1/embeddings (docs/design/embeddings.md): the deadline of one upstream embeddings call, inputs per
    // request (OpenAI's own cap is 2,048), estimated tokens per input (400 beyond) and per request (413 beyond,
    // OpenAI: 300,000).
    EMBEDDINGS_TIMEOUT_MS: int(30_000, 100, 600_000),
    EMBEDDINGS_MAX_INPUTS: int(2_048, 1, 2_048),
    EMBEDDINGS_MAX_INPUT_TOKENS: int(8_192, 1, 1_000_000),
    EMBEDDINGS_MAX_TOTAL_TOKENS: int(300_000, 1, 10_000_000),
    SEMANTIC_CACHE_THRESHOLD: num(0.92, 0, 1),
    SEMANTIC_CACHE_ENABLED: bool(true),
    // Above this temperature answers are meant to vary, so a similar prompt is not answered from cache.
    SEMANTIC_CACHE_MAX_TEMPERATURE: num(1, 0, 2),
    SEMANTIC_CACHE_EMBEDDING_MODEL: embeddingModel,
    // Every semantic lookup waits for it, so it is short; past it the request goes on without the
    // semantic step.
    SEMANTIC_CACHE_EMBEDDING_TIMEOUT_MS: int(2_000, 50, 60_000),
    // The assistant (POST /api/v1/run, docs/design/assistant.md): the models that transcribe audio and speak
    // answers, as provider:model (local needs no network: it reads and writes a WAV's embedded text chunk),
    // the voice and audio format of spoken answers, and the most bytes one medium (an image, an audio or a
    // video) may have, checked while it is read.
    ASSISTANT_TRANSCRIPTION_MODEL: z.string().trim().min(3).default('local:edgeway-transcribe'),
    ASSISTANT_SPEECH_MODEL: z.string().trim().min(3).default('local:edgeway-speech'),
    ASSISTANT_SPEECH_VOICE: z.string().trim().min(1).max(64).default('alloy'),
    ASSISTANT_SPEECH_FORMAT: z.enum(['wav', 'mp3', 'opus', 'aac', 'flac', 'pcm']).default('wav'),
    ASSISTANT_MAX_MEDIA_BYTES: int(25 * 1_048_576, 1, 1_024 * 1_048_576),
    CACHE_ENABLED: bool(true),
    // Per tenant; least recently used answers are evicted beyond it.
    CACHE_MAX_BYTES: int(10 * 1_048_576, 1_024, 1_073_741_824),
    // The assistant's tool loop (POST /run): model rounds at most, the whole loop's deadline, and each tool
    // call's own deadline. Past a bound the loop stops and answers with what it has, saying why.
    TOOL_MAX_ROUNDS: int(5, 1, 20),
    TOOL_LOOP_DEADLINE_MS: int(60_000, 100, 600_000),
    TOOL_TIMEOUT_MS: int(10_000, 50, 120_000),
    // Tool adapters, each enabled by its credentials: Google Calendar through a service account (its JSON
    // key; the calendar it reads and writes), Notion through an integration token (the database it uses).
    GOOGLE_CALENDAR_SERVICE_ACCOUNT: secret,
    GOOGLE_CALENDAR_ID: z.string().min(1).default('primary'),
    GOOGLE_CALENDAR_BASE_URL: httpUrl,
    NOTION_API_KEY: secret,
    NOTION_DATABASE_ID: z.string().optional(),
    NOTION_BASE_URL: httpUrl,
    // Webhooks (docs/design/webhooks.md): the key their signing secrets are encrypted with at rest (production
    // makes and sends none without it), attempts per delivery, the cap on the backoff between attempts
    // (Queues delay at most 12 h), each attempt's deadline, and the DNS-over-HTTPS resolver that checks a
    // target's addresses before each attempt (production: Cloudflare's by default; elsewhere only if set).
    WEBHOOK_SECRET_KEY: secret,
    WEBHOOK_MAX_ATTEMPTS: int(11, 1, 50),
    WEBHOOK_RETRY_MAX_DELAY_SECONDS: int(43_200, 0, 43_200),
    WEBHOOK_TIMEOUT_MS: int(15_000, 100, 15_000),
    WEBHOOK_DOH_URL: httpUrl,
  })
  .superRefine((cfg, ctx) => {
    if (cfg.ENVIRONMENT === 'production' && (cfg.JWT_SECRET_KEY === undefined || cfg.JWT_SECRET_KEY.length < 32)) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_SECRET_KEY'],
        message: 'must be set to at least 32 characters in production',
      });
    }
    if (cfg.CORS_ORIGINS.some((o) => o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o))) {
      ctx.addIssue({
        code: 'custom',
        path: ['CORS_ORIGINS'],
        message: 'must be a comma-separated list of origins like https://app.example.com',
      });
    }
    if (cfg.DEFAULT_PROVIDER === 'openai' && cfg.OPENAI_API_KEY === undefined) {
      ctx.addIssue({ code: 'custom', path: ['DEFAULT_PROVIDER'], message: 'is openai but OPENAI_API_KEY is not set' });
    }
    const embedding = cfg.SEMANTIC_CACHE_EMBEDDING_MODEL;
    if (embedding?.provider === 'openai' && cfg.OPENAI_API_KEY === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['SEMANTIC_CACHE_EMBEDDING_MODEL'],
        message: 'uses openai but OPENAI_API_KEY is not set',
      });
    }
    if (embedding?.provider === 'openai-compatible' && cfg.OPENAI_COMPATIBLE_BASE_URL === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['SEMANTIC_CACHE_EMBEDDING_MODEL'],
        message: 'uses openai-compatible but OPENAI_COMPATIBLE_BASE_URL is not set',
      });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;

const SECRET_VARIABLES = [
  'OPENAI_API_KEY',
  'ANTHROPIC_API_KEY',
  'GROQ_API_KEY',
  'OPENAI_COMPATIBLE_API_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'JWT_SECRET_KEY',
  'GOOGLE_CLIENT_SECRET',
  'METRICS_TOKEN',
  'WEBHOOK_SECRET_KEY',
  'GOOGLE_CALENDAR_SERVICE_ACCOUNT',
  'NOTION_API_KEY',
] as const satisfies readonly (keyof Config)[];

// The configured secret values, so logs can scrub them wherever they appear.
export function secretValues(config: Config): string[] {
  return SECRET_VARIABLES.map((k) => config[k]).filter((v): v is string => v !== undefined);
}

// Names the variables at fault and what is wrong with them, never their values (they may be secrets).
export class ConfigError extends Error {
  readonly variables: string[];
  constructor(problems: { variable: string; message: string }[]) {
    super(`Invalid configuration: ${problems.map((p) => `${p.variable} ${p.message}`).join('; ')}`);
    this.name = 'ConfigError';
    this.variables = problems.map((p) => p.variable);
  }
}

const cache = new WeakMap<object, Config>();

// Parsed once per env object: workerd hands every request of an isolate the same env.
export function loadConfig(env: object): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const value: unknown = Reflect.get(env, key);
    if (typeof value === 'string') raw[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') raw[key] = String(value);
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? 'configuration'), message: i.message })),
    );
  }
  cache.set(env, parsed.data);
  return parsed.data;
}
