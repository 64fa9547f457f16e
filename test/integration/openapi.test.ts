import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { call } from '../helpers/http';

interface Operation {
  operationId?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}
interface Doc {
  openapi: string;
  info: { license?: { name: string; identifier?: string; url?: string } };
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes?: Record<string, unknown> };
}

// Pages that serve the documentation itself are not API operations.
const NOT_API = new Set(['/openapi.json', '/docs', '/redoc']);

// What a client must send, by the access each route declares (API.md): nothing; a credential or,
// where ALLOW_ANONYMOUS is on, nothing; a credential; the metrics token where one is set.
const CREDENTIALS = [{ bearerJwt: [] }, { apiKeyBearer: [] }, { apiKeyHeader: [] }, { accessCookie: [] }];
const SECURITY = {
  public: [],
  anonymousOk: [...CREDENTIALS, {}],
  signedIn: CREDENTIALS,
  metrics: [{ metricsToken: [] }, {}],
};

// Every operation's operationId — the method name SDK generators give it, so renaming one breaks
// generated clients — and its security.
const OPERATIONS: Record<string, [string, keyof typeof SECURITY]> = {
  'get /health': ['getHealth', 'public'],
  'get /internal/health': ['getInternalHealth', 'public'],
  'get /metrics': ['getMetrics', 'metrics'],
  'get /internal/metrics': ['getInternalMetrics', 'metrics'],
  'post /api/v1/auth/register': ['registerUser', 'public'],
  'post /api/v1/auth/login': ['loginUser', 'public'],
  'post /api/v1/auth/refresh': ['refreshSession', 'public'],
  'post /api/v1/auth/logout': ['logoutUser', 'public'],
  'get /api/v1/auth/me': ['getCurrentUser', 'signedIn'],
  'get /api/v1/auth/organizations': ['listMyOrganizations', 'signedIn'],
  'post /api/v1/auth/switch-organization': ['switchOrganization', 'signedIn'],
  'get /api/v1/auth/{provider}/login': ['startOAuthLogin', 'public'],
  'get /api/v1/auth/{provider}/callback': ['completeOAuthLogin', 'public'],
  'get /api/v1/auth/login-success-redirect': ['forwardLoginToken', 'public'],
  'get /api/v1/auth/validate-token': ['redeemLoginToken', 'public'],
  'get /api/v1/auth/api-keys': ['listApiKeys', 'signedIn'],
  'post /api/v1/auth/api-keys': ['createApiKey', 'signedIn'],
  'delete /api/v1/auth/api-keys/{id}': ['revokeApiKey', 'signedIn'],
  'get /api/v1/organizations/current': ['getCurrentOrganization', 'signedIn'],
  'put /api/v1/organizations/current': ['updateCurrentOrganization', 'signedIn'],
  'get /api/v1/organizations/current/members': ['listOrganizationMembers', 'signedIn'],
  'post /api/v1/organizations/current/members': ['addOrganizationMember', 'signedIn'],
  'put /api/v1/organizations/current/members/{user_id}': ['updateOrganizationMemberRole', 'signedIn'],
  'delete /api/v1/organizations/current/members/{user_id}': ['removeOrganizationMember', 'signedIn'],
  'post /api/v1/requests': ['createRequest', 'anonymousOk'],
  'get /api/v1/requests/{id}': ['getRequest', 'anonymousOk'],
  'post /api/v1/chat/completion': ['createChatCompletion', 'anonymousOk'],
  'post /api/v1/chat/stream': ['streamChatCompletion', 'anonymousOk'],
  'post /api/v1/aisuite/chat': ['createAisuiteChatCompletion', 'anonymousOk'],
  'get /api/v1/models': ['listModels', 'anonymousOk'],
  'get /api/v1/models/{model_id}': ['getModel', 'anonymousOk'],
  'get /api/v1/model': ['listModelsPaginated', 'anonymousOk'],
  'get /api/v1/cache/stats': ['getCacheStats', 'anonymousOk'],
  'post /api/v1/cache/warm': ['warmCache', 'signedIn'],
  'delete /api/v1/cache/clear': ['clearCache', 'signedIn'],
  'post /v1/chat/completions': ['createOpenAIChatCompletion', 'anonymousOk'],
  'get /v1/models': ['listOpenAIModels', 'anonymousOk'],
  'get /v1/models/{model}': ['retrieveOpenAIModel', 'anonymousOk'],
  'post /v1/messages': ['createMessage', 'anonymousOk'],
  'get /api/v1/chat': ['listChats', 'signedIn'],
  'post /api/v1/chat': ['createChat', 'signedIn'],
  'get /api/v1/chat/{chat_id}': ['getChat', 'signedIn'],
  'patch /api/v1/chat/{chat_id}': ['updateChat', 'signedIn'],
  'delete /api/v1/chat/{chat_id}': ['deleteChat', 'signedIn'],
  'get /api/v1/chat/{chat_id}/messages': ['listChatMessages', 'signedIn'],
  'post /api/v1/chat/{chat_id}/messages': ['sendChatMessage', 'signedIn'],
  'post /api/v1/chat/{chat_id}/upload': ['uploadChatFiles', 'signedIn'],
  'get /api/v1/chat/{chat_id}/files': ['listChatFiles', 'signedIn'],
  'get /api/v1/chat/{chat_id}/files/{file_id}': ['downloadChatFile', 'signedIn'],
  'delete /api/v1/chat/{chat_id}/files/{file_id}': ['deleteChatFile', 'signedIn'],
  'get /api/v1/projects': ['listProjects', 'signedIn'],
  'post /api/v1/projects': ['createProject', 'signedIn'],
  'get /api/v1/projects/{project_id}': ['getProject', 'signedIn'],
  'put /api/v1/projects/{project_id}': ['updateProject', 'signedIn'],
  'delete /api/v1/projects/{project_id}': ['deleteProject', 'signedIn'],
  'get /api/v1/templates': ['listTemplates', 'signedIn'],
  'post /api/v1/templates': ['createTemplate', 'signedIn'],
  'get /api/v1/templates/{template_id}': ['getTemplate', 'signedIn'],
  'put /api/v1/templates/{template_id}': ['updateTemplate', 'signedIn'],
  'delete /api/v1/templates/{template_id}': ['deleteTemplate', 'signedIn'],
  'get /ws/chat': ['chatWebSocket', 'anonymousOk'],
  'get /api/v1/chat/{chat_id}/messages/stream': ['resumeChatStream', 'signedIn'],
  'post /api/v1/orchestrate': ['startOrchestration', 'signedIn'],
  'get /api/v1/orchestration': ['listOrchestrationRuns', 'signedIn'],
  'get /api/v1/orchestration/{run_id}': ['getOrchestrationRun', 'signedIn'],
  'post /api/v1/orchestration/{run_id}/cancel': ['cancelOrchestrationRun', 'signedIn'],
  'get /api/v1/orchestration/{run_id}/events': ['streamOrchestrationEvents', 'signedIn'],
  'get /api/v1/orchestration/{run_id}/operations/{operation_id}/file': ['downloadOrchestrationFile', 'signedIn'],
  'get /socket.io/': ['socketIoPoll', 'public'],
  'post /socket.io/': ['socketIoPost', 'public'],
  'get /api/v1/webhooks': ['listWebhooks', 'signedIn'],
  'post /api/v1/webhooks': ['createWebhook', 'signedIn'],
  'get /api/v1/webhooks/{webhook_id}': ['getWebhook', 'signedIn'],
  'put /api/v1/webhooks/{webhook_id}': ['updateWebhook', 'signedIn'],
  'delete /api/v1/webhooks/{webhook_id}': ['deleteWebhook', 'signedIn'],
  'get /api/v1/webhooks/{webhook_id}/deliveries': ['listWebhookDeliveries', 'signedIn'],
  'post /api/v1/webhooks/{webhook_id}/test': ['testWebhook', 'signedIn'],
  'post /api/v1/webhooks/{webhook_id}/rotate-secret': ['rotateWebhookSecret', 'signedIn'],
  'get /api/v1/analytics/usage': ['getUsageAnalytics', 'signedIn'],
  'get /api/v1/analytics/performance': ['getPerformanceAnalytics', 'signedIn'],
  'post /api/v1/run': ['runAssistant', 'signedIn'],
  'post /api/v1/run/audio': ['runAssistantAudio', 'signedIn'],
  'get /api/v1/run/{run_id}': ['getAssistantRun', 'signedIn'],
  'post /api/v1/prompt_compiler/compile': ['compilePrompt', 'anonymousOk'],
  'post /api/v1/prompt_compiler/compile/form': ['compilePromptForm', 'anonymousOk'],
  'post /api/v1/prompt_compiler/update_parameters': ['updatePromptParameters', 'anonymousOk'],
  'post /v1/embeddings': ['createOpenAIEmbeddings', 'anonymousOk'],
};

// Answers that carry no body by definition: switching protocols, no content, not modified, and a range
// that cannot be satisfied (its Content-Range header says why).
const BODILESS = new Set(['101', '204', '304', '416']);

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 and lists every registered route', async () => {
    const res = await call('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Doc;
    expect(doc.openapi).toBe('3.1.0');

    const registered = createApp()
      .routes.filter((r) => r.method !== 'ALL' && !NOT_API.has(r.path))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`);
    expect(registered.length).toBeGreaterThan(0);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    for (const route of registered) expect(documented).toContain(route);
  });

  it('gives every operation response schemas and the error envelope', async () => {
    const doc = (await (await call('/openapi.json')).json()) as Doc;
    expect(doc.components.schemas.Error).toBeDefined();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const statuses = Object.keys(op.responses);
        expect(
          statuses.some((s) => s.startsWith('2') || s.startsWith('3') || s === '101'),
          `${method} ${path} success`,
        ).toBe(true);
        expect(statuses, `${method} ${path} errors`).toContain('500');
        for (const s of statuses) {
          if (BODILESS.has(s)) continue;
          const content = op.responses[s]?.content ?? {};
          expect(
            Object.values(content).some((c) => c.schema !== undefined),
            `${method} ${path} ${s}`,
          ).toBe(true);
        }
        // JSON bodies everywhere but uploads, which are multipart.
        if (method === 'post' && op.requestBody)
          expect(
            (op.requestBody.content['application/json'] ?? op.requestBody.content['multipart/form-data'])?.schema,
            `${method} ${path} body`,
          ).toBeDefined();
      }
    }
    expect(Object.keys(doc.paths['/api/v1/requests']?.post?.responses ?? {})).toEqual(
      expect.arrayContaining(['201', '400', '413']),
    );
  });

  it('names every operation and declares the credentials its access takes', async () => {
    const doc = (await (await call('/openapi.json')).json()) as Doc;
    expect(doc.components.securitySchemes).toEqual({
      bearerJwt: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
      apiKeyBearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      apiKeyHeader: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }),
      accessCookie: expect.objectContaining({ type: 'apiKey', in: 'cookie', name: 'ew_access' }),
      metricsToken: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
    const documented = Object.fromEntries(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.entries(ops).map(([method, op]) => [`${method} ${path}`, [op.operationId, op.security]]),
      ),
    );
    const expected = Object.fromEntries(
      Object.entries(OPERATIONS).map(([route, [id, access]]) => [route, [id, SECURITY[access]]]),
    );
    expect(documented).toEqual(expected);
  });

  it('gives every operation a success and a client-error answer, and documents its tags and license', async () => {
    const doc = (await (await call('/openapi.json')).json()) as Doc;
    expect(doc.info.license?.name).toBeTruthy();
    expect(doc.info.license?.identifier ?? doc.info.license?.url).toBeTruthy();
    const tags = new Map((doc.tags ?? []).map((t) => [t.name, t.description]));
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const statuses = Object.keys(op.responses);
        expect(
          statuses.some((s) => /^4\d\d$/.test(s)),
          `${method} ${path} 4xx`,
        ).toBe(true);
        // A redirect step succeeds with its 3xx; `default` then stands for every other answer.
        const succeeds =
          statuses.some((s) => s.startsWith('2') || s === '101') ||
          (statuses.some((s) => s.startsWith('3')) && 'default' in op.responses);
        expect(succeeds, `${method} ${path} success`).toBe(true);
        for (const tag of op.tags ?? []) expect(tags.get(tag), `${method} ${path} tag ${tag}`).toBeTruthy();
      }
    }
  });

  it('serves the docs pages from the worker with a CSP', async () => {
    for (const path of ['/docs', '/redoc']) {
      const res = await call(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      const html = await res.text();
      expect(html).toContain('/vendor/');
      expect(html).not.toMatch(/https?:\/\//);
    }
  });
});
