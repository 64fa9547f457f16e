import { type Config, loadConfig, secretValues } from '../../config';
import { createLogger, describeError, type Logger } from '../../lib/log';
import { retryDelaySeconds } from './backoff';
import { checkResolvedHost, PRODUCTION_DOH_URL } from './dns';
import { decryptSecret, signPayload } from './secrets';
import { checkWebhookUrl, type UrlPolicy } from './ssrf';
import { type DeliveryMessage, isDeliveryMessage } from './store';

// The consumer of the `edgeway-webhooks` queue: one message is one delivery (one event to one endpoint),
// tried once per message; a failed attempt is retried by re-queueing the message with a delay.
// Why each step is as it is: docs/design/webhooks.md#delivery

// An attempt holds its delivery for its deadline plus this margin: a duplicate of the message arriving
// meanwhile waits instead of sending a second time.
const LEASE_MARGIN_MS = 15_000;
// Queue delays are whole seconds and the clock of the consumer may differ a little from the one that
// set next_attempt_at: a message this early is taken as on time.
const EARLY_TOLERANCE_MS = 2_000;
// A consumer failure (D1 unreachable, say) is tried again after this, outside the delivery's schedule.
const CONSUMER_RETRY_SECONDS = 30;
const USER_AGENT = 'Edgeway-Webhooks/1.0';

export const urlPolicy = (config: Config): UrlPolicy => ({ allowLoopback: config.ENVIRONMENT !== 'production' });

// The resolver that checks a target's addresses before an attempt, if any (see dns.ts for why).
export const dohResolver = (config: Config): string | undefined =>
  config.WEBHOOK_DOH_URL ?? (config.ENVIRONMENT === 'production' ? PRODUCTION_DOH_URL : undefined);

// IP literals have nothing to resolve; `localhost` only passed the URL check as local development's loopback.
const needsNoLookup = (host: string) => host.startsWith('[') || /^[0-9.]+$/.test(host) || host === 'localhost';

interface Target {
  id: string;
  webhook_id: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  url: string;
  is_active: number;
  secret_ciphertext: string;
}

type Outcome =
  | { kind: 'succeeded'; code: number; ms: number }
  | { kind: 'gone'; code: number; ms: number }
  | { kind: 'refused'; error: string }
  | { kind: 'failed'; code: number | null; error: string; ms: number | null };

const SELECT_TARGET = `SELECT d.id, d.webhook_id, d.payload, d.status, d.attempts, d.next_attempt_at,
  w.url, w.is_active, w.secret_ciphertext
FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ?`;

// Takes attempt number `attempts + 1` for this consumer alone: the row must still be pending with the
// attempts it was read with, so of two copies of a message only one sends.
const CLAIM = `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?, updated_at = ?
WHERE id = ? AND status = 'pending' AND attempts = ? RETURNING attempts`;

const FINISH = `UPDATE webhook_deliveries SET status = ?, last_response_code = ?, last_error = ?, last_duration_ms = ?,
  next_attempt_at = ?, delivered_at = ?, updated_at = ? WHERE id = ?`;

const TOUCH_WEBHOOK = `UPDATE webhooks SET last_triggered_at = ? WHERE id = ?`;
const DISABLE_WEBHOOK = `UPDATE webhooks SET is_active = 0, disabled_reason = ?, updated_at = ? WHERE id = ?`;

async function send(config: Config, target: Target, attempt: URL): Promise<Outcome> {
  let secret: string;
  try {
    secret = await decryptSecret(config, target.webhook_id, target.secret_ciphertext);
  } catch (err) {
    return { kind: 'failed', code: null, error: `signing secret unavailable (${describeError(err).name})`, ms: null };
  }
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = await signPayload(secret, target.id, timestamp, target.payload);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const res = await fetch(attempt.toString(), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'webhook-id': target.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signature,
      },
      body: target.payload,
      // A redirect could point anywhere, including inside the network: it is a failed attempt.
      redirect: 'manual',
      signal: AbortSignal.timeout(config.WEBHOOK_TIMEOUT_MS),
    });
    // The answer's body is not used; it is discarded so the connection is freed.
    await res.body?.cancel().catch(() => undefined);
    const ms = elapsed();
    if (res.status >= 200 && res.status < 300) return { kind: 'succeeded', code: res.status, ms };
    if (res.status === 410) return { kind: 'gone', code: 410, ms };
    const error =
      res.status >= 300 && res.status < 400 ? `redirect ${res.status} not followed` : `endpoint answered ${res.status}`;
    return { kind: 'failed', code: res.status, error, ms };
  } catch (err) {
    const { name } = describeError(err);
    const timedOut = name === 'TimeoutError' || name === 'AbortError';
    return {
      kind: 'failed',
      code: null,
      error: timedOut ? `no answer within ${config.WEBHOOK_TIMEOUT_MS} ms` : 'network error',
      ms: elapsed(),
    };
  }
}

// The URL as it is now (the row may have changed since it was made) and, where a resolver is available,
// its addresses: the URL to send to, or why not (refused: never retried; otherwise the attempt failed).
async function guard(config: Config, url: string): Promise<URL | { refused: boolean; error: string }> {
  const verdict = checkWebhookUrl(url, urlPolicy(config));
  if (!verdict.ok) return { refused: true, error: `URL refused: ${verdict.reason}` };
  const resolver = dohResolver(config);
  const host = verdict.url.hostname;
  if (resolver !== undefined && !needsNoLookup(host)) {
    const dns = await checkResolvedHost(fetch, resolver, host);
    if (!dns.ok) return { refused: dns.refused, error: dns.refused ? `URL refused: ${dns.reason}` : dns.reason };
  }
  return verdict.url;
}

async function deliver(
  env: Env,
  config: Config,
  log: Logger,
  message: Message<unknown>,
  body: DeliveryMessage,
): Promise<void> {
  const db = env.DB;
  const target = await db.prepare(SELECT_TARGET).bind(body.delivery_id).first<Target>();
  // Its webhook was deleted (the delivery with it), or it already ended: never sent twice.
  if (!target || target.status !== 'pending') return message.ack();
  const now = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  if (target.is_active !== 1) {
    await db.prepare(FINISH).bind('failed', null, 'webhook is disabled', null, null, null, iso(now), target.id).run();
    return message.ack();
  }
  const due = target.next_attempt_at === null ? 0 : Date.parse(target.next_attempt_at);
  if (due > now + EARLY_TOLERANCE_MS) {
    // Early (a duplicate, or an attempt still holding its lease): come back when it is due.
    return message.retry({ delaySeconds: Math.min(43_200, Math.ceil((due - now) / 1000)) });
  }
  const leaseUntil = iso(now + config.WEBHOOK_TIMEOUT_MS + LEASE_MARGIN_MS);
  const claimed = await db
    .prepare(CLAIM)
    .bind(leaseUntil, iso(now), target.id, target.attempts)
    .first<{ attempts: number }>();
  if (!claimed) return message.ack(); // another copy of this message took the attempt

  const attempt = claimed.attempts;
  const checked = await guard(config, target.url);
  const outcome: Outcome =
    checked instanceof URL
      ? await send(config, target, checked)
      : checked.refused
        ? { kind: 'refused', error: checked.error }
        : { kind: 'failed', code: null, error: checked.error, ms: null };

  const end = Date.now();
  const touch = db.prepare(TOUCH_WEBHOOK).bind(iso(end), target.webhook_id);
  const finish = (status: string, code: number | null, error: string | null, ms: number | null, next: string | null) =>
    db
      .prepare(FINISH)
      .bind(status, code, error, ms, next, status === 'succeeded' ? iso(end) : null, iso(end), target.id);

  switch (outcome.kind) {
    case 'succeeded':
      await db.batch([finish('succeeded', outcome.code, null, outcome.ms, null), touch]);
      return message.ack();
    case 'gone': {
      const reason = `The endpoint answered 410 Gone at ${iso(end)}`;
      await db.batch([
        finish('failed', 410, 'endpoint answered 410 Gone; webhook disabled', outcome.ms, null),
        touch,
        db.prepare(DISABLE_WEBHOOK).bind(reason, iso(end), target.webhook_id),
      ]);
      log.warn('webhook disabled: endpoint answered 410', { webhook_id: target.webhook_id });
      return message.ack();
    }
    case 'refused':
      // Not retried: the same URL would be refused again.
      await db.batch([finish('failed', null, outcome.error, null, null), touch]);
      log.warn('webhook delivery refused', { webhook_id: target.webhook_id, delivery_id: target.id });
      return message.ack();
    case 'failed': {
      if (attempt >= config.WEBHOOK_MAX_ATTEMPTS) {
        await db.batch([finish('dead', outcome.code, outcome.error, outcome.ms, null), touch]);
        await env.WEBHOOKS_DLQ.send({ ...body, attempts: attempt, last_error: outcome.error });
        log.warn('webhook delivery dead', { webhook_id: target.webhook_id, delivery_id: target.id, attempts: attempt });
        return message.ack();
      }
      const delay = retryDelaySeconds(attempt, config.WEBHOOK_RETRY_MAX_DELAY_SECONDS);
      await db.batch([finish('pending', outcome.code, outcome.error, outcome.ms, iso(end + delay * 1000)), touch]);
      return message.retry({ delaySeconds: delay });
    }
  }
}

/**
 * The `queue` handler of `edgeway-webhooks`: every message of the batch is delivered concurrently, each
 * acknowledged or re-queued on its own.
 */
export async function handleWebhookQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const config = loadConfig(env);
  const log = createLogger({ queue: batch.queue }, secretValues(config));
  await Promise.all(
    batch.messages.map(async (message) => {
      if (!isDeliveryMessage(message.body)) {
        log.warn('webhook message dropped: not a delivery', { message_id: message.id });
        return message.ack();
      }
      try {
        await deliver(env, config, log, message, message.body);
      } catch (err) {
        log.error('webhook delivery failed in the consumer; retrying', {
          delivery_id: message.body.delivery_id,
          error: describeError(err),
        });
        message.retry({ delaySeconds: CONSUMER_RETRY_SECONDS });
      }
    }),
  );
}
