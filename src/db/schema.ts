import { sql } from 'drizzle-orm';
import {
  type AnySQLiteColumn,
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from 'drizzle-orm/sqlite-core';

// Timestamps are ISO 8601 UTC text with milliseconds, the format docs/api.md promises on the wire,
// so rows serialize without conversion and sort lexicographically.
const createdAt = () =>
  text('created_at')
    .notNull()
    .default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`);
const updatedAt = () =>
  text('updated_at')
    .notNull()
    .default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`);

// Owned rows go with their owner: a required reference that cascades on delete.
const ownedBy = (column: string, target: () => AnySQLiteColumn) =>
  text(column).notNull().references(target, { onDelete: 'cascade' });

export const users = sqliteTable('users', {
  id: text('id').primaryKey(),
  email: text('email').notNull().unique(),
  username: text('username').notNull(),
  fullName: text('full_name'),
  passwordHash: text('password_hash'),
  externalProvider: text('external_provider'),
  externalSubject: text('external_subject'),
  // The organization a session starts in (the personal one at registration).
  defaultOrganizationId: text('default_organization_id'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const SUBSCRIPTION_TIERS = ['free', 'pro', 'enterprise', 'custom'] as const;

export const organizations = sqliteTable('organizations', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  slug: text('slug').notNull().unique(),
  subscriptionTier: text('subscription_tier', { enum: SUBSCRIPTION_TIERS }).notNull().default('free'),
  apiQuotaLimit: integer('api_quota_limit').notNull().default(1000),
  apiQuotaUsed: integer('api_quota_used').notNull().default(0),
  // The calendar month (YYYY-MM, UTC) that api_quota_used counts; a new month starts from zero.
  quotaPeriod: text('quota_period').notNull().default(''),
  settings: text('settings', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default({}),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const ROLES = ['admin', 'manager', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const memberships = sqliteTable(
  'memberships',
  {
    organizationId: ownedBy('organization_id', () => organizations.id),
    userId: ownedBy('user_id', () => users.id),
    role: text('role', { enum: ROLES }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.userId] }), index('memberships_user_idx').on(t.userId)],
);

export const REQUEST_STATUSES = ['completed', 'failed', 'cancelled'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

// One row per AI call, whatever its dialect; rows of POST /api/v1/requests are the `requests` dialect.
export const requests = sqliteTable(
  'requests',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: text('user_id').references(() => users.id, { onDelete: 'set null' }),
    organizationId: text('organization_id').references(() => organizations.id, { onDelete: 'set null' }),
    dialect: text('dialect').notNull(),
    text: text('text').notNull(),
    response: text('response'),
    model: text('model').notNull(),
    provider: text('provider').notNull(),
    status: text('status', { enum: REQUEST_STATUSES }).notNull(),
    errorCode: text('error_code'),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    completionTokens: integer('completion_tokens').notNull().default(0),
    totalTokens: integer('total_tokens').notNull().default(0),
    latencyMs: integer('latency_ms').notNull().default(0),
    // Time to first token of a streamed answer; null when not streamed or no token came.
    ttftMs: integer('ttft_ms'),
    costUsd: real('cost_usd').notNull().default(0),
    stream: integer('stream', { mode: 'boolean' }).notNull().default(false),
    attempts: integer('attempts').notNull().default(1),
    cacheStatus: text('cache_status'),
    requestId: text('request_id'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('requests_user_idx').on(t.userId, t.createdAt),
    index('requests_org_idx').on(t.organizationId, t.createdAt),
  ],
);

export type RequestRow = typeof requests.$inferSelect;
export type NewRequestRow = typeof requests.$inferInsert;

// A login: refresh tokens rotate inside it; revoking it ends every token it issued at once.
export const sessions = sqliteTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: ownedBy('user_id', () => users.id),
    organizationId: ownedBy('organization_id', () => organizations.id),
    createdAt: createdAt(),
    expiresAt: text('expires_at').notNull(),
    revokedAt: text('revoked_at'),
    revokedReason: text('revoked_reason'),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

// Opaque refresh tokens, stored as SHA-256 hashes. A used token presented again means it leaked:
// the whole session is revoked.
export const refreshTokens = sqliteTable(
  'refresh_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    sessionId: ownedBy('session_id', () => sessions.id),
    createdAt: createdAt(),
    expiresAt: text('expires_at').notNull(),
    usedAt: text('used_at'),
  },
  (t) => [index('refresh_tokens_session_idx').on(t.sessionId)],
);

export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    organizationId: ownedBy('organization_id', () => organizations.id),
    userId: ownedBy('user_id', () => users.id),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    keyHash: text('key_hash').notNull().unique(),
    role: text('role', { enum: ROLES }).notNull(),
    createdAt: createdAt(),
    expiresAt: text('expires_at'),
    revokedAt: text('revoked_at'),
    lastUsedAt: text('last_used_at'),
  },
  (t) => [index('api_keys_org_idx').on(t.organizationId)],
);

// OAuth state (with its PKCE verifier and nonce), consumed exactly once by the callback.
export const oauthStates = sqliteTable('oauth_states', {
  state: text('state').primaryKey(),
  provider: text('provider').notNull(),
  codeVerifier: text('code_verifier').notNull(),
  nonce: text('nonce').notNull(),
  expiresAt: text('expires_at').notNull(),
});

// Short-lived one-time tokens handed from the OAuth callback to /auth/validate-token.
export const loginTokens = sqliteTable('login_tokens', {
  tokenHash: text('token_hash').primaryKey(),
  sessionId: ownedBy('session_id', () => sessions.id),
  expiresAt: text('expires_at').notNull(),
});

// Fixed-window counters for login attempts (per account and per IP).
export const loginAttempts = sqliteTable('login_attempts', {
  key: text('key').primaryKey(),
  windowStart: integer('window_start').notNull(),
  count: integer('count').notNull(),
});

// The request log: one row per HTTP request, written by the queue consumer. The event id is the
// idempotency key (a redelivered event is ignored); batch_id marks the delivery that inserted it, so
// rollups count exactly the rows that delivery added.
export const requestEvents = sqliteTable(
  'request_events',
  {
    id: text('id').primaryKey(),
    batchId: text('batch_id').notNull(),
    requestId: text('request_id').notNull(),
    // Epoch milliseconds of the request's arrival.
    ts: integer('ts').notNull(),
    method: text('method').notNull(),
    // The matched route pattern (never the raw path), or "unmatched".
    route: text('route').notNull(),
    status: integer('status').notNull(),
    latencyMs: real('latency_ms').notNull(),
    upstreamMs: real('upstream_ms'),
    overheadMs: real('overhead_ms').notNull(),
    organizationId: text('organization_id'),
    userId: text('user_id'),
    apiKeyId: text('api_key_id'),
    dialect: text('dialect'),
    model: text('model'),
    provider: text('provider'),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    completionTokens: integer('completion_tokens').notNull().default(0),
    costUsd: real('cost_usd').notNull().default(0),
    cacheStatus: text('cache_status'),
    errorCode: text('error_code'),
    ttftMs: real('ttft_ms'),
    stream: integer('stream', { mode: 'boolean' }).notNull().default(false),
    rateLimited: integer('rate_limited', { mode: 'boolean' }).notNull().default(false),
    quotaExceeded: integer('quota_exceeded', { mode: 'boolean' }).notNull().default(false),
  },
  (t) => [index('request_events_batch_idx').on(t.batchId), index('request_events_ts_idx').on(t.ts)],
);

export const ROLLUP_PERIODS = ['minute', 'day'] as const;

// Request counts and sums per minute and per day. Absent dimensions are '' (not NULL) so the
// primary key groups them.
export const rollups = sqliteTable(
  'rollups',
  {
    period: text('period', { enum: ROLLUP_PERIODS }).notNull(),
    // 2024-01-15T10:30Z for a minute, 2024-01-15 for a day (UTC).
    periodStart: text('period_start').notNull(),
    method: text('method').notNull(),
    route: text('route').notNull(),
    status: integer('status').notNull(),
    model: text('model').notNull().default(''),
    provider: text('provider').notNull().default(''),
    organizationId: text('organization_id').notNull().default(''),
    cacheStatus: text('cache_status').notNull().default(''),
    errorCode: text('error_code').notNull().default(''),
    count: integer('count').notNull().default(0),
    latencyMsSum: real('latency_ms_sum').notNull().default(0),
    overheadMsSum: real('overhead_ms_sum').notNull().default(0),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    completionTokens: integer('completion_tokens').notNull().default(0),
    costUsd: real('cost_usd').notNull().default(0),
  },
  (t) => [
    primaryKey({
      columns: [
        t.period,
        t.periodStart,
        t.method,
        t.route,
        t.status,
        t.model,
        t.provider,
        t.organizationId,
        t.cacheStatus,
        t.errorCode,
      ],
    }),
  ],
);

export const HISTOGRAM_METRICS = ['request_duration', 'gateway_overhead', 'ttft'] as const;

// Latency histograms per day and route: `count` is the number of observations in the bucket ending
// at `le` (milliseconds, or '+Inf') and above the previous one; `sum_ms` their total.
export const histograms = sqliteTable(
  'histograms',
  {
    metric: text('metric', { enum: HISTOGRAM_METRICS }).notNull(),
    day: text('day').notNull(),
    method: text('method').notNull(),
    route: text('route').notNull(),
    le: text('le').notNull(),
    count: integer('count').notNull().default(0),
    sumMs: real('sum_ms').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.metric, t.day, t.method, t.route, t.le] })],
);

export const CHAT_VISIBILITIES = ['private', 'organization'] as const;
export type ChatVisibility = (typeof CHAT_VISIBILITIES)[number];

// A persistent conversation (seed 004). Private to its owner until shared with the owner's organization.
export const chats = sqliteTable(
  'chats',
  {
    id: text('id').primaryKey(),
    userId: ownedBy('user_id', () => users.id),
    organizationId: ownedBy('organization_id', () => organizations.id),
    title: text('title'),
    currentModelId: text('current_model_id').notNull(),
    currentModelApiSource: text('current_model_api_source').notNull(),
    visibility: text('visibility', { enum: CHAT_VISIBILITIES }).notNull().default('private'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('chats_user_created_idx').on(t.userId, t.createdAt),
    index('chats_org_visibility_idx').on(t.organizationId, t.visibility),
  ],
);

export const MESSAGE_ROLES = ['user', 'assistant', 'system'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];
export const MESSAGE_STATUSES = ['complete', 'streaming', 'cancelled', 'failed'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const messages = sqliteTable(
  'messages',
  {
    id: text('id').primaryKey(),
    chatId: ownedBy('chat_id', () => chats.id),
    // Position in the chat (1, 2, …): the order and the cursor of the message list.
    seq: integer('seq').notNull(),
    role: text('role', { enum: MESSAGE_ROLES }).notNull(),
    // The member who sent a user message; null for assistant and system messages.
    userId: text('user_id'),
    content: text('content').notNull(),
    files: text('files', { mode: 'json' }).$type<string[]>().notNull().default([]),
    model: text('model'),
    status: text('status', { enum: MESSAGE_STATUSES }).notNull().default('complete'),
    promptTokens: integer('prompt_tokens'),
    completionTokens: integer('completion_tokens'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('messages_chat_seq_idx').on(t.chatId, t.seq)],
);

// File metadata (seed 004's fields, plus size and sha256); the bytes are in R2 under `object_key`.
export const files = sqliteTable(
  'files',
  {
    id: text('id').primaryKey(),
    chatId: ownedBy('chat_id', () => chats.id),
    userId: ownedBy('user_id', () => users.id),
    filename: text('filename').notNull(),
    contentType: text('content_type').notNull(),
    size: integer('size').notNull(),
    sha256: text('sha256').notNull(),
    objectKey: text('object_key').notNull().unique(),
    uploadedAt: text('uploaded_at')
      .notNull()
      .default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`),
  },
  (t) => [index('files_chat_idx').on(t.chatId, t.uploadedAt)],
);
