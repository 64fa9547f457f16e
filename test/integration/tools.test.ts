import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { getDb } from '../../src/db/client';
import { realtimeDeps } from '../../src/features/gateway';
import { runToolLoop, type ToolLoopCall, toolDefinitions, toolNames, type ToolRecord } from '../../src/features/tools';
import type { CallSummary } from '../../src/lib/call-slot';
import { ApiError } from '../../src/lib/errors';
import type { Logger } from '../../src/lib/log';
import { memberOf, register, type Account } from '../helpers/auth';
import { type EnvOverrides, mockRequests, openaiEnv } from '../helpers/http';

// The tool loop is exposed by POST /api/v1/run (the assistant feature); here it is driven directly inside
// workerd, as a realtime room drives the pipeline: every round's settled call is collected (`rows`, the
// `requests` rows the request log would write), and every log line the loop writes is kept (`logs`).

const BUILT_INS = ['get_time', 'calculator', 'search_chats'];
const ADAPTERS = ['calendar_list_events', 'calendar_create_event', 'notion_search', 'notion_create_page'];
const NOTION_KEY = 'ntn_mock_integration_0123456789';

interface Caller {
  userId: string;
  organizationId: string;
}

function harness(overrides: EnvOverrides = {}) {
  const e = { ...env, ...overrides } as Env;
  const config = loadConfig(e);
  const rows: CallSummary[] = [];
  const logs: string[] = [];
  const line = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    logs.push(JSON.stringify({ level, msg, ...fields }));
  const log: Logger = { info: line('info'), warn: line('warn'), error: line('error') };
  const waits: Promise<unknown>[] = [];
  const deps = realtimeDeps({ env: e, config, db: getDb(e.DB), log, waitUntil: (p) => waits.push(p) }, (s) =>
    rows.push(s),
  );
  const run = async (
    who: Caller,
    text: string,
    opts: { model?: string; tools?: string[]; toolChoice?: ToolLoopCall['toolChoice']; signal?: AbortSignal } = {},
  ) => {
    const call: ToolLoopCall = {
      dialect: 'tools-test',
      requestId: `req_${crypto.randomUUID()}`,
      userId: who.userId,
      organizationId: who.organizationId,
      tenant: `org:${who.organizationId}`,
      cachePolicy: { read: true, write: true, semantic: false, threshold: 1 },
      ...(opts.model ? { model: opts.model } : {}),
      ...(opts.toolChoice ? { toolChoice: opts.toolChoice } : {}),
      messages: [{ role: 'user', content: text }],
      text,
      signal: new AbortController().signal,
    };
    const ctx = { env: e, config, db: getDb(e.DB), ...who, signal: opts.signal ?? new AbortController().signal };
    const out = await runToolLoop(deps, call, toolDefinitions(config, opts.tools), ctx);
    await Promise.allSettled(waits);
    return out;
  };
  return { config, rows, logs, run };
}

const anyone: Caller = { userId: 'u-tools-test', organizationId: 'o-tools-test' };
const byName = (records: ToolRecord[], name: string) => records.filter((r) => r.name === name);

describe('tool set and definitions', () => {
  it('offers the built-ins always and each adapter only with its credentials', async () => {
    expect(toolNames(harness().config)).toEqual(BUILT_INS);
    const all = harness({
      GOOGLE_CALENDAR_SERVICE_ACCOUNT: await serviceAccount(`names-${crypto.randomUUID()}`),
      NOTION_API_KEY: NOTION_KEY,
      NOTION_DATABASE_ID: 'db-names',
    });
    expect(toolNames(all.config)).toEqual([...BUILT_INS, ...ADAPTERS]);
    // Notion search needs only the token; a page needs the database too.
    expect(toolNames(harness({ NOTION_API_KEY: NOTION_KEY }).config)).toEqual([...BUILT_INS, 'notion_search']);
    // A key that is not a usable service account leaves the calendar off.
    expect(toolNames(harness({ GOOGLE_CALENDAR_SERVICE_ACCOUNT: '{"client_email":"x"}' }).config)).toEqual(BUILT_INS);
    const defs = toolDefinitions(all.config, ['calculator', 'calendar_create_event']);
    expect(defs.map((d) => d.name)).toEqual(['calculator', 'calendar_create_event']);
    expect(defs[0]?.parameters).toMatchObject({ type: 'object', required: ['expression'] });
  });

  it('refuses an unknown or disabled tool with 400 naming it', () => {
    const { config } = harness();
    for (const [names, named] of [
      [['calculator', 'calendar_list_events'], 'calendar_list_events'],
      [['notion_create_page'], 'notion_create_page'],
      [['rm_rf'], 'rm_rf'],
    ] as const) {
      let caught: unknown;
      try {
        toolDefinitions(config, [...names]);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ApiError);
      expect((caught as ApiError).status).toBe(400);
      expect((caught as ApiError).code).toBe('VALIDATION_ERROR');
      expect((caught as ApiError).message).toContain(named);
      expect((caught as ApiError).details?.[0]?.field).toBe(`tools.${names.indexOf(named as never)}`);
    }
  });
});

describe('the loop with the local provider', () => {
  it("gives the calculator's answer to the model, whose final text carries it; every round is a logged call", async () => {
    const h = harness();
    const out = await h.run(anyone, 'Compute it [[tool:calculator {"expression":"(2 + 3) * 4 ^ 2 / sqrt(16)"}]]');
    expect(out.stoppedBy).toBe('answer');
    expect(out.rounds).toBe(2);
    expect(out.toolCalls).toEqual([
      expect.objectContaining({
        round: 1,
        name: 'calculator',
        error: null,
        result: expect.objectContaining({ result: 20 }),
      }),
    ]);
    expect(out.result.text).toContain('Local answer after tools');
    expect(out.result.text).toContain('\\"result\\":20');
    expect(out.result.toolCalls ?? []).toEqual([]);
    expect(h.rows).toHaveLength(2);
    for (const row of h.rows)
      expect(row).toMatchObject({ status: 'completed', provider: 'local', dialect: 'tools-test' });
    // Tool rounds are never answered from the cache, even when the caller allows it.
    expect(h.rows.map((r) => r.cacheStatus)).not.toContain('HIT');
    const again = await h.run(anyone, 'Compute it [[tool:calculator {"expression":"(2 + 3) * 4 ^ 2 / sqrt(16)"}]]');
    expect(again.rounds).toBe(2);
    expect(h.rows.slice(2).map((r) => r.cacheStatus)).not.toContain('HIT');
    // Usage is the sum over the rounds.
    const sum = h.rows.slice(0, 2).reduce((n, r) => n + (r.totalTokens ?? 0), 0);
    expect(out.result.usage.totalTokens).toBe(sum);
    expect(out.result.usage.totalTokens).toBeGreaterThan(h.rows[0]?.totalTokens ?? 0);
  });

  it('runs parallel calls; an unknown tool, invalid JSON, invalid arguments and a failing tool are errors told to the model', async () => {
    const h = harness();
    const out = await h.run(
      anyone,
      'Many [[tool:get_time {"timezone":"Europe/Paris"}]] [[tool:calculator {"expression":"1/0"}]] ' +
        '[[tool:nope]] [[tool:calculator {not json}]] [[tool:calculator {"expression":5}]] ' +
        '[[tool:get_time {"timezone":"Mars/Base"}]]',
    );
    expect(out.stoppedBy).toBe('answer');
    expect(out.rounds).toBe(2);
    const [time, divide, unknown, badJson, badArgs, badZone] = out.toolCalls;
    expect(time).toMatchObject({ name: 'get_time', error: null, result: { timezone: 'Europe/Paris' } });
    expect(divide).toMatchObject({ name: 'calculator', error: 'Division by zero', result: null });
    expect(unknown).toMatchObject({ name: 'nope', error: "Unknown tool 'nope'" });
    expect(badJson).toMatchObject({ error: 'The arguments are not valid JSON' });
    expect(badArgs?.error).toMatch(/^Invalid arguments: expression: /);
    expect(badZone?.error).toContain("Unknown time zone 'Mars/Base'");
    // Each result went back to the model as the tool message answering its call.
    expect(out.result.text).toContain('Division by zero');
    expect(out.result.text).toContain("Unknown tool 'nope'");
    expect(out.result.text).toContain('Europe/Paris');
  });

  it('does not run a tool the loop was not given, even a known one', async () => {
    const h = harness();
    const out = await h.run(anyone, 'Only math [[tool:get_time]]', { tools: ['calculator'] });
    expect(out.toolCalls).toEqual([expect.objectContaining({ name: 'get_time', error: "Unknown tool 'get_time'" })]);
  });
});

describe('the loop over vendor wires (mock upstream)', () => {
  it('OpenAI wire: tools sent, tool results returned as tool messages, the answer carries the result', async () => {
    const h = harness(openaiEnv());
    const nonce = `oa-${crypto.randomUUID()}`;
    const out = await h.run(anyone, `${nonce} [[tool:calculator {"expression":"6*7"}]]`, { model: 'gpt-4o-mini' });
    expect(out).toMatchObject({ stoppedBy: 'answer', rounds: 2 });
    expect(out.result.text).toBe('Mock answer after tools: {"expression":"6*7","result":42}');
    const sent = await mockRequests(nonce);
    expect(sent).toHaveLength(2);
    const first = JSON.parse(sent[0]?.body ?? '{}') as { tools?: { function: { name: string } }[] };
    expect(first.tools?.map((t) => t.function.name)).toEqual(BUILT_INS);
    const second = JSON.parse(sent[1]?.body ?? '{}') as {
      messages: { role: string; tool_call_id?: string; tool_calls?: { id: string }[] }[];
    };
    const assistant = second.messages.find((m) => m.role === 'assistant');
    const tool = second.messages.find((m) => m.role === 'tool');
    expect(tool?.tool_call_id).toBe(assistant?.tool_calls?.[0]?.id);
    expect(tool?.tool_call_id).toBe(out.toolCalls[0]?.id);
    expect(h.rows).toHaveLength(2);
    for (const row of h.rows) expect(row).toMatchObject({ status: 'completed', provider: 'openai' });
  });

  it('Anthropic wire: the same loop, tool_use answered by tool_result', async () => {
    const h = harness({ ANTHROPIC_API_KEY: 'sk-ant-tools-canary', ANTHROPIC_BASE_URL: env.MOCK_UPSTREAM_URL });
    const nonce = `an-${crypto.randomUUID()}`;
    const out = await h.run(anyone, `${nonce} [[tool:calculator {"expression":"2^10"}]]`, {
      model: 'claude-3-5-haiku-latest',
    });
    expect(out).toMatchObject({ stoppedBy: 'answer', rounds: 2 });
    expect(out.result.text).toContain('"result":1024');
    const sent = await mockRequests(nonce);
    expect(sent).toHaveLength(2);
    expect(sent[1]?.body).toContain('tool_result');
    expect(h.rows.map((r) => r.provider)).toEqual(['anthropic', 'anthropic']);
  });

  it('stops a loop that never ends at TOOL_MAX_ROUNDS, every round logged, the last calls not run', async () => {
    const h = harness(openaiEnv({ TOOL_MAX_ROUNDS: '3' }));
    const out = await h.run(anyone, `loop ${crypto.randomUUID()} [[fault:toolloop]]`, { model: 'gpt-4o-mini' });
    expect(out.stoppedBy).toBe('max_rounds');
    expect(out.rounds).toBe(3);
    expect(h.rows).toHaveLength(3);
    expect(out.toolCalls.map((r) => [r.round, r.name, r.error === null])).toEqual([
      [1, 'get_time', true],
      [2, 'get_time', true],
      [3, 'get_time', false],
    ]);
    expect(out.toolCalls[2]?.error).toContain('TOOL_MAX_ROUNDS');
    expect(out.result.text).toContain('Stopped after 3 model rounds');
    expect(out.result.toolCalls).toBeUndefined();
    expect(out.result.usage.totalTokens).toBe(h.rows.reduce((n, r) => n + (r.totalTokens ?? 0), 0));
  });
});

// ---- Google Calendar and Notion adapters against their mocks ----

function pem(label: string, der: ArrayBuffer): string {
  const b64 = btoa(String.fromCharCode(...new Uint8Array(der)));
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, '$1\n')}\n-----END ${label}-----\n`;
}

// A service account made for the test: its key pair generated here, the public half given to the mock.
async function serviceAccount(name: string, register = true): Promise<string> {
  const pair = (await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
  const clientEmail = `${name}@edgeway-test.iam.gserviceaccount.com`;
  if (register) {
    const spki = (await crypto.subtle.exportKey('spki', pair.publicKey)) as ArrayBuffer;
    const res = await fetch(`${env.MOCK_UPSTREAM_URL}/gcal/__keys`, {
      method: 'POST',
      body: JSON.stringify({ client_email: clientEmail, public_key_pem: pem('PUBLIC KEY', spki) }),
    });
    if (res.status !== 204) throw new Error(`register key ${res.status}`);
  }
  const pkcs8 = (await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer;
  return JSON.stringify({
    type: 'service_account',
    project_id: 'edgeway-test',
    private_key_id: name,
    private_key: pem('PRIVATE KEY', pkcs8),
    client_email: clientEmail,
  });
}

const calendarEnv = (account: string, calendarId: string, extra: EnvOverrides = {}): EnvOverrides => ({
  GOOGLE_CALENDAR_SERVICE_ACCOUNT: account,
  GOOGLE_CALENDAR_ID: calendarId,
  GOOGLE_TOKEN_URL: `${env.MOCK_UPSTREAM_URL}/gcal/token`,
  GOOGLE_CALENDAR_BASE_URL: `${env.MOCK_UPSTREAM_URL}/gcal/calendar/v3`,
  ...extra,
});

async function tokenExchanges(account: string): Promise<number> {
  const email = (JSON.parse(account) as { client_email: string }).client_email;
  const res = await fetch(`${env.MOCK_UPSTREAM_URL}/gcal/__stats?client_email=${encodeURIComponent(email)}`);
  return ((await res.json()) as { tokenExchanges: number }).tokenExchanges;
}

function leaksNothing(h: { logs: string[] }, out: unknown, secrets: string[]) {
  const seen = JSON.stringify(out) + h.logs.join('\n');
  for (const s of secrets) expect(seen).not.toContain(s);
  expect(seen).not.toContain('PRIVATE KEY');
  expect(seen).not.toContain('ya29.');
}

describe('Google Calendar adapter', () => {
  it('signs in as the service account (JWT verified by the mock), creates and lists events, token cached', async () => {
    const nonce = crypto.randomUUID().slice(0, 8);
    const account = await serviceAccount(`cal-${nonce}`);
    const h = harness(calendarEnv(account, `team-${nonce}@group.calendar.google.com`));
    const created = await h.run(
      anyone,
      `Book it [[tool:calendar_create_event {"summary":"Standup ${nonce}","start":"2026-12-03T09:00:00Z",` +
        `"end":"2026-12-03T09:15:00+00:00","timeZone":"Europe/Paris","location":"Room 1"}]]`,
    );
    const [create] = created.toolCalls;
    expect(create).toMatchObject({ name: 'calendar_create_event', error: null });
    expect(create?.result).toMatchObject({
      created: {
        id: expect.any(String),
        summary: `Standup ${nonce}`,
        start: '2026-12-03T09:00:00Z',
        location: 'Room 1',
      },
    });
    await h.run(
      anyone,
      `Also [[tool:calendar_create_event {"summary":"Review ${nonce}","start":"2026-12-04T15:00:00Z","end":"2026-12-04T16:00:00Z"}]]`,
    );
    const listed = await h.run(
      anyone,
      `What is on? [[tool:calendar_list_events {"timeMin":"2026-12-03T00:00:00Z","timeMax":"2026-12-05T00:00:00Z"}]]`,
    );
    const events = (listed.toolCalls[0]?.result as { events: { summary: string }[] }).events;
    expect(events.map((e) => e.summary)).toEqual([`Standup ${nonce}`, `Review ${nonce}`]);
    const filtered = await h.run(anyone, `[[tool:calendar_list_events {"q":"review","maxResults":5}]]`);
    expect((filtered.toolCalls[0]?.result as { events: { summary: string }[] }).events.map((e) => e.summary)).toEqual([
      `Review ${nonce}`,
    ]);
    expect(listed.result.text).toContain(`Standup ${nonce}`);
    // One token exchange for all four calls: the access token is kept until near its expiry.
    expect(await tokenExchanges(account)).toBe(1);
    leaksNothing(h, [created, listed, filtered, h.rows], [JSON.parse(account).private_key as string]);
  });

  it('is refused by the token endpoint when the JWT is not signed by the registered key', async () => {
    const nonce = crypto.randomUUID().slice(0, 8);
    // Same client_email registered with another key pair's public half.
    const registered = await serviceAccount(`forged-${nonce}`);
    const impostor = JSON.parse(await serviceAccount(`forged-${nonce}`, false)) as Record<string, string>;
    const forged = JSON.stringify({ ...(JSON.parse(registered) as object), private_key: impostor.private_key });
    const h = harness(calendarEnv(forged, `cal-${nonce}`));
    const out = await h.run(anyone, '[[tool:calendar_list_events]]');
    expect(out.toolCalls[0]?.error).toBe('The Google token endpoint answered 400 (invalid_grant)');
    expect(out.stoppedBy).toBe('answer');
    expect(await tokenExchanges(registered)).toBe(0);
    leaksNothing(h, out, [impostor.private_key as string]);
  });

  it('validates arguments before calling Google', async () => {
    const account = await serviceAccount(`args-${crypto.randomUUID().slice(0, 8)}`);
    const h = harness(calendarEnv(account, 'args'));
    const out = await h.run(
      anyone,
      '[[tool:calendar_create_event {"summary":"x","start":"tomorrow","end":"2026-12-03T09:00:00Z"}]] ' +
        '[[tool:calendar_create_event {"summary":"x","start":"2026-12-03T10:00:00Z","end":"2026-12-03T09:00:00Z"}]] ' +
        '[[tool:calendar_list_events {"maxResults":1000}]]',
    );
    expect(out.toolCalls.map((r) => r.error)).toEqual([
      expect.stringMatching(/^Invalid arguments: start: /),
      expect.stringContaining('start must be before end'),
      expect.stringMatching(/^Invalid arguments: maxResults: /),
    ]);
    expect(await tokenExchanges(account)).toBe(0);
  });

  it('a tool that times out is an error result, recorded, and the loop goes on; parallel calls wait together', async () => {
    const account = await serviceAccount(`hang-${crypto.randomUUID().slice(0, 8)}`);
    const h = harness(calendarEnv(account, 'hang', { TOOL_TIMEOUT_MS: '1000' }));
    const started = Date.now();
    const out = await h.run(
      anyone,
      'Slow [[tool:calendar_list_events {"q":"__hang__"}]] [[tool:calendar_list_events {"q":"__hang__"}]] ' +
        '[[tool:calculator {"expression":"1+1"}]]',
    );
    const elapsed = Date.now() - started;
    expect(out.stoppedBy).toBe('answer');
    expect(out.rounds).toBe(2);
    const hung = byName(out.toolCalls, 'calendar_list_events');
    expect(hung).toHaveLength(2);
    for (const r of hung) {
      expect(r.error).toBe('The tool did not answer within 1000 ms (TOOL_TIMEOUT_MS)');
      expect(r.durationMs).toBeGreaterThanOrEqual(950);
    }
    expect(byName(out.toolCalls, 'calculator')[0]).toMatchObject({ error: null, result: { result: 2 } });
    expect(out.result.text).toContain('did not answer within 1000 ms');
    // Side by side, not one after the other.
    expect(elapsed).toBeLessThan(1900);
  });

  it('stops at the loop deadline while a tool hangs', async () => {
    const account = await serviceAccount(`deadline-${crypto.randomUUID().slice(0, 8)}`);
    const h = harness(calendarEnv(account, 'deadline', { TOOL_TIMEOUT_MS: '20000', TOOL_LOOP_DEADLINE_MS: '800' }));
    const started = Date.now();
    const out = await h.run(anyone, 'Wait [[tool:calendar_list_events {"q":"__hang__"}]]');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(out.stoppedBy).toBe('deadline');
    expect(out.rounds).toBe(1);
    expect(out.toolCalls[0]?.error).toContain('the loop ended before it answered');
    expect(out.result.text).toContain('deadline (800 ms');
    expect(h.rows).toHaveLength(1);
  });
});

describe('the caller going away', () => {
  it('ends the loop at once, with no further round', async () => {
    const account = await serviceAccount(`gone-${crypto.randomUUID().slice(0, 8)}`);
    const h = harness(calendarEnv(account, 'gone', { TOOL_TIMEOUT_MS: '20000' }));
    const caller = new AbortController();
    setTimeout(() => caller.abort(), 500);
    const started = Date.now();
    await expect(
      h.run(anyone, 'Wait [[tool:calendar_list_events {"q":"__hang__"}]]', { signal: caller.signal }),
    ).rejects.toBeDefined();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(h.rows).toHaveLength(1);
  });
});

describe('Notion adapter', () => {
  const notionEnv = (extra: EnvOverrides = {}): EnvOverrides => ({
    NOTION_API_KEY: NOTION_KEY,
    NOTION_DATABASE_ID: 'db-edgeway-test',
    NOTION_BASE_URL: `${env.MOCK_UPSTREAM_URL}/notion/v1`,
    ...extra,
  });

  it('creates a page in the database and finds it by search, with the Notion-Version header', async () => {
    const nonce = crypto.randomUUID().slice(0, 8);
    const h = harness(notionEnv());
    const created = await h.run(
      anyone,
      `Note [[tool:notion_create_page {"title":"Plan ${nonce}","content":"${'word '.repeat(500)}"}]]`,
    );
    expect(created.toolCalls[0]).toMatchObject({
      error: null,
      result: { created: { title: `Plan ${nonce}`, object: 'page' } },
    });
    const found = await h.run(anyone, `Find [[tool:notion_search {"query":"plan ${nonce}"}]]`);
    const results = (found.toolCalls[0]?.result as { results: { id: string; title: string }[] }).results;
    expect(results.map((r) => r.title)).toEqual([`Plan ${nonce}`]);
    expect(results[0]?.id).toBe((created.toolCalls[0]?.result as { created: { id: string } }).created.id);
    const sent = await mockRequests(`Plan ${nonce}`);
    const create = sent.find((r) => r.path === '/notion/v1/pages');
    expect(create?.headers['notion-version']).toBe('2022-06-28');
    const body = JSON.parse(create?.body ?? '{}') as { parent: unknown; children: unknown[] };
    expect(body.parent).toEqual({ database_id: 'db-edgeway-test' });
    // 2500 characters: two paragraphs (Notion's 2000 per rich text).
    expect(body.children).toHaveLength(2);
    leaksNothing(h, [created, found], [NOTION_KEY]);
  });

  it('reports a refused token as a tool error without the token', async () => {
    const h = harness(notionEnv({ NOTION_API_KEY: 'ntn_wrong_key_0123456789' }));
    const out = await h.run(anyone, '[[tool:notion_search {"query":"x"}]]');
    expect(out.toolCalls[0]?.error).toBe('Notion answered 401 (unauthorized)');
    leaksNothing(h, out, ['ntn_wrong_key_0123456789']);
  });
});

describe('search_chats', () => {
  async function chat(
    owner: Account,
    org: string,
    text: string,
    visibility = 'private',
    file?: string,
    contents = 'nothing to see',
  ) {
    const id = crypto.randomUUID();
    await env.DB.prepare(
      `INSERT INTO chats (id, user_id, organization_id, title, current_model_id, current_model_api_source, visibility)
       VALUES (?, ?, ?, ?, 'edgeway-local', 'local', ?)`,
    )
      .bind(id, owner.userId, org, `chat of ${owner.email}`, visibility)
      .run();
    await env.DB.prepare(
      `INSERT INTO messages (id, chat_id, seq, role, user_id, content) VALUES (?, ?, 1, 'user', ?, ?)`,
    )
      .bind(crypto.randomUUID(), id, owner.userId, text)
      .run();
    if (file) {
      const key = `k-${crypto.randomUUID()}`;
      await env.DB.prepare(
        `INSERT INTO files (id, chat_id, user_id, filename, content_type, size, sha256, object_key)
         VALUES (?, ?, ?, ?, 'text/plain', ?, 'x', ?)`,
      )
        .bind(crypto.randomUUID(), id, owner.userId, file, new TextEncoder().encode(contents).length, key)
        .run();
      await env.FILES.put(key, contents);
    }
    return id;
  }

  it("finds the caller's own chats (and chats shared with their organization), never another user's or organization's", async () => {
    const owner = await register();
    const colleague = await memberOf(owner, 'member');
    const stranger = await register();
    const word = `zebra${crypto.randomUUID().slice(0, 8)}`;
    const mine = await chat(owner, owner.organizationId, `my ${word} plan`, 'private', `${word}-notes.txt`);
    const theirsPrivate = await chat(colleague, owner.organizationId, `colleague ${word} secret`);
    const theirsShared = await chat(colleague, owner.organizationId, `shared ${word} agenda`, 'organization');
    const otherOrg = await chat(stranger, stranger.organizationId, `stranger ${word} shared`, 'organization');
    // Found by a text file's contents (its name and message do not match); a colleague's private one is not.
    const byContents = await chat(
      owner,
      owner.organizationId,
      'see attachment',
      'private',
      'minutes.md',
      `Notes:\n${word} budget`,
    );
    await chat(colleague, owner.organizationId, 'see attachment', 'private', 'private.md', `${word} salary`);
    const h = harness();
    const out = await h.run(owner, `Search [[tool:search_chats {"query":"${word.toUpperCase()}"}]]`);
    const result = out.toolCalls[0]?.result as { results: { chatId: string; kind: string; snippet?: string }[] };
    const chats = new Set(result.results.map((r) => r.chatId));
    expect(chats).toEqual(new Set([mine, theirsShared, byContents]));
    const inFile = result.results.find((r) => r.chatId === byContents);
    expect(inFile).toMatchObject({ kind: 'file', snippet: `Notes:\n${word} budget` });
    expect(
      result.results
        .filter((r) => r.chatId === mine)
        .map((r) => r.kind)
        .sort(),
    ).toEqual(['file', 'message']);
    expect(chats.has(theirsPrivate)).toBe(false);
    expect(chats.has(otherOrg)).toBe(false);
    // The stranger sees their own, not the owner's.
    const theirs = await h.run(stranger, `[[tool:search_chats {"query":"${word}"}]]`);
    expect((theirs.toolCalls[0]?.result as { results: { chatId: string }[] }).results.map((r) => r.chatId)).toEqual([
      otherOrg,
    ]);
  });

  it('takes the query literally (LIKE wildcards escaped) and caps the results', async () => {
    const owner = await register();
    const word = `lit${crypto.randomUUID().slice(0, 8)}`;
    await chat(owner, owner.organizationId, `${word} 100% sure`);
    await chat(owner, owner.organizationId, `${word} 100 percent`);
    await chat(owner, owner.organizationId, `${word}_under`);
    await chat(owner, owner.organizationId, `${word}Xunder`);
    const h = harness();
    const count = async (query: string, limit?: number) => {
      const args = JSON.stringify(limit ? { query, limit } : { query });
      const out = await h.run(owner, `[[tool:search_chats ${args}]]`);
      return (out.toolCalls[0]?.result as { count: number }).count;
    };
    expect(await count(`${word} 100%`)).toBe(1);
    expect(await count(`${word}_under`)).toBe(1);
    expect(await count('%')).toBe(1);
    expect(await count(word)).toBe(4);
    expect(await count(word, 2)).toBe(2);
    const tooMany = await h.run(owner, `[[tool:search_chats {"query":"${word}","limit":500}]]`);
    expect(tooMany.toolCalls[0]?.error).toMatch(/^Invalid arguments: limit: /);
  });
});
