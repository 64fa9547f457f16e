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
  (t) => [
    index('request_events_batch_idx').on(t.batchId),
    index('request_events_ts_idx').on(t.ts),
    // Performance analytics read one organization's events over a window.
    index('request_events_org_ts_idx').on(t.organizationId, t.ts),
  ],
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

export const LIVE_GAUGES = ['connections_ws', 'connections_socket_io', 'rooms'] as const;

// Live realtime gauges for /metrics: each object adds +1/-1 as sockets and rooms open and close (off the
// frame path), so a scrape reads them in the same D1 batch as the rollups.
export const liveGauges = sqliteTable('live_gauges', {
  name: text('name', { enum: LIVE_GAUGES }).primaryKey(),
  value: integer('value').notNull().default(0),
});

// ---------------------------------------------------------------------------------------------------------
// The orchestrator (seed 003): projects, templates, runs and their phases, integration operations, webhooks.

export const PROJECT_STATUSES = ['active', 'completed', 'archived', 'failed'] as const;
export const PROJECT_PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const;

export const projects = sqliteTable(
  'projects',
  {
    id: text('id').primaryKey(),
    organizationId: ownedBy('organization_id', () => organizations.id),
    // The creator; a project outlives its creator's account (null then).
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    description: text('description'),
    topic: text('topic').notNull().default(''),
    status: text('status', { enum: PROJECT_STATUSES }).notNull().default('active'),
    priority: text('priority', { enum: PROJECT_PRIORITIES }).notNull().default('medium'),
    metadata: text('metadata', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('projects_org_created_idx').on(t.organizationId, t.createdAt),
    index('projects_org_status_idx').on(t.organizationId, t.status),
  ],
);

export const templates = sqliteTable(
  'templates',
  {
    id: text('id').primaryKey(),
    organizationId: ownedBy('organization_id', () => organizations.id),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    description: text('description'),
    category: text('category').notNull().default('custom'),
    // Public templates are visible to every organization; private ones to their own.
    isPublic: integer('is_public', { mode: 'boolean' }).notNull().default(false),
    usageCount: integer('usage_count').notNull().default(0),
    templateData: text('template_data', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('templates_org_created_idx').on(t.organizationId, t.createdAt),
    index('templates_public_idx').on(t.isPublic, t.createdAt),
  ],
);

export const RUN_STATUSES = ['started', 'running', 'completed', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const orchestrationRuns = sqliteTable(
  'orchestration_runs',
  {
    id: text('id').primaryKey(),
    organizationId: ownedBy('organization_id', () => organizations.id),
    projectId: ownedBy('project_id', () => projects.id),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    templateId: text('template_id').references(() => templates.id, { onDelete: 'set null' }),
    topic: text('topic').notNull(),
    status: text('status', { enum: RUN_STATUSES }).notNull().default('started'),
    totalPhases: integer('total_phases').notNull(),
    completedPhases: integer('completed_phases').notNull().default(0),
    // Completed phases ÷ phases that ended, in percent; null until a phase ends.
    successRate: real('success_rate'),
    integrationEnabled: integer('integration_enabled', { mode: 'boolean' }).notNull().default(false),
    settings: text('settings', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default({}),
    // The Workflow instance running it (its id is the run id unless a restart made another).
    workflowInstanceId: text('workflow_instance_id'),
    // The last sign of life of the run's Workflow (a phase in flight writes it every few seconds): a run
    // silent for ORCHESTRATION_STALL_SECONDS is given a new instance (docs/design/orchestration.md).
    heartbeatAt: text('heartbeat_at'),
    executionTimeMs: integer('execution_time_ms'),
    error: text('error'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    completedAt: text('completed_at'),
  },
  (t) => [
    index('runs_org_created_idx').on(t.organizationId, t.createdAt),
    index('runs_project_idx').on(t.projectId, t.createdAt),
  ],
);

export const PHASE_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled', 'skipped'] as const;
export type PhaseStatus = (typeof PHASE_STATUSES)[number];

export const orchestrationPhases = sqliteTable(
  'orchestration_phases',
  {
    id: text('id').primaryKey(),
    runId: ownedBy('run_id', () => orchestrationRuns.id),
    // 0, 1, …: the phase's place in the run ("Phase 0" is its code).
    position: integer('position').notNull(),
    phaseCode: text('phase_code').notNull(),
    phaseName: text('phase_name').notNull(),
    status: text('status', { enum: PHASE_STATUSES }).notNull().default('pending'),
    responseText: text('response_text'),
    model: text('model'),
    executionTimeMs: integer('execution_time_ms'),
    promptTokens: integer('prompt_tokens'),
    completionTokens: integer('completion_tokens'),
    attempts: integer('attempts').notNull().default(0),
    error: text('error'),
    startedAt: text('started_at'),
    completedAt: text('completed_at'),
  },
  (t) => [uniqueIndex('phases_run_position_idx').on(t.runId, t.position)],
);

export const integrationOperations = sqliteTable(
  'integration_operations',
  {
    id: text('id').primaryKey(),
    runId: ownedBy('run_id', () => orchestrationRuns.id),
    phaseId: text('phase_id').references(() => orchestrationPhases.id, { onDelete: 'cascade' }),
    operationType: text('operation_type').notNull(),
    status: text('status', { enum: ['pending', 'completed', 'failed'] })
      .notNull()
      .default('pending'),
    result: text('result', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default({}),
    // For file_system operations: the R2 object holding the written file.
    objectKey: text('object_key'),
    executionTimeMs: integer('execution_time_ms'),
    createdAt: createdAt(),
  },
  (t) => [index('integration_ops_run_idx').on(t.runId, t.createdAt)],
);

// A run's progress events, numbered per run: the SSE stream of /orchestration/{run_id}/events and its
// Last-Event-ID resumption.
export const runEvents = sqliteTable(
  'run_events',
  {
    runId: ownedBy('run_id', () => orchestrationRuns.id),
    seq: integer('seq').notNull(),
    type: text('type').notNull(),
    data: text('data', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.seq] })],
);

export const WEBHOOK_EVENTS = [
  'orchestration.started',
  'orchestration.phase_completed',
  'orchestration.completed',
  'orchestration.failed',
  'orchestration.cancelled',
  'project.created',
  'project.updated',
  'project.deleted',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export const webhooks = sqliteTable(
  'webhooks',
  {
    id: text('id').primaryKey(),
    organizationId: ownedBy('organization_id', () => organizations.id),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    url: text('url').notNull(),
    events: text('events', { mode: 'json' }).$type<WebhookEvent[]>().notNull(),
    isActive: integer('is_active', { mode: 'boolean' }).notNull().default(true),
    // The signing secret (`whsec_…`), encrypted at rest; shown to the client once, when made or rotated.
    secretCiphertext: text('secret_ciphertext').notNull(),
    // Why the endpoint was turned off by the system (e.g. it answered 410 Gone); null when active or off by hand.
    disabledReason: text('disabled_reason'),
    lastTriggeredAt: text('last_triggered_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('webhooks_org_created_idx').on(t.organizationId, t.createdAt)],
);

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'dead'] as const;

// One message to one endpoint (its `webhook-id`, the same on every attempt) and how its attempts went.
export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    webhookId: ownedBy('webhook_id', () => webhooks.id),
    organizationId: ownedBy('organization_id', () => organizations.id),
    eventType: text('event_type').notNull(),
    payload: text('payload').notNull(),
    status: text('status', { enum: DELIVERY_STATUSES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastResponseCode: integer('last_response_code'),
    lastError: text('last_error'),
    lastDurationMs: integer('last_duration_ms'),
    nextAttemptAt: text('next_attempt_at'),
    deliveredAt: text('delivered_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('deliveries_webhook_created_idx').on(t.webhookId, t.createdAt)],
);

export const ASSISTANT_RUN_STATUSES = ['completed', 'failed'] as const;
export type AssistantRunStatus = (typeof ASSISTANT_RUN_STATUSES)[number];

// One media input of an assistant run, as stored: what it was and where it came from, never its bytes.
export interface AssistantRunInput {
  kind: 'image' | 'audio' | 'video';
  media_type: string;
  bytes: number;
  source: 'inline' | 'file';
  file_id?: string;
}

// One tool call of a run's tool loop, with its result or its error (src/features/tools).
export interface AssistantToolCall {
  id: string;
  round: number;
  name: string;
  arguments: string;
  result: unknown;
  error: string | null;
  duration_ms: number;
}

// A run of the assistant (POST /api/v1/run, seed 004): its inputs (words, transcript, a summary of the
// media), its answer, the tool calls with their results, usage. Private to the user who ran it.
// Why: docs/design/assistant.md
export const assistantRuns = sqliteTable(
  'assistant_runs',
  {
    id: text('id').primaryKey(),
    userId: ownedBy('user_id', () => users.id),
    organizationId: ownedBy('organization_id', () => organizations.id),
    // The chat whose files the run used; the run outlives the chat.
    chatId: text('chat_id').references(() => chats.id, { onDelete: 'set null' }),
    requestId: text('request_id').notNull(),
    // 'text' (POST /run) or 'audio' (POST /run/audio).
    answerMode: text('answer_mode', { enum: ['text', 'audio'] }).notNull(),
    model: text('model').notNull(),
    prompt: text('prompt').notNull(),
    transcript: text('transcript'),
    inputs: text('inputs', { mode: 'json' }).$type<AssistantRunInput[]>().notNull().default([]),
    answer: text('answer'),
    toolCalls: text('tool_calls', { mode: 'json' }).$type<AssistantToolCall[]>().notNull().default([]),
    rounds: integer('rounds').notNull().default(0),
    stoppedBy: text('stopped_by'),
    status: text('status', { enum: ASSISTANT_RUN_STATUSES }).notNull(),
    errorCode: text('error_code'),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    completionTokens: integer('completion_tokens').notNull().default(0),
    totalTokens: integer('total_tokens').notNull().default(0),
    createdAt: createdAt(),
    completedAt: text('completed_at'),
  },
  (t) => [index('assistant_runs_user_created_idx').on(t.userId, t.createdAt)],
);
