import { OpenAPIHono } from '@hono/zod-openapi';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { secureHeaders } from 'hono/secure-headers';
import pkg from '../package.json';
import type { AppEnv } from './env';
import {
  apiKeyRoutes,
  assertEveryRouteDeclaresAccess,
  authRoutes,
  declareSecurity,
  oauthRoutes,
} from './features/accounts';
import { cacheRoutes } from './features/cache';
import { assistantRoutes } from './features/assistant';
import { chatsRoutes, fileRoutes } from './features/chats';
import { roomRoutes, socketIoRoutes } from './features/rooms';
import { docsRoutes } from './features/docs';
import { embeddingsRoutes } from './features/embeddings';
import {
  aisuiteRoutes,
  anthropicDialect,
  anthropicRoutes,
  chatRoutes,
  openaiDialect,
  openaiRoutes,
  speaks,
} from './features/gateway';
import { analyticsRoutes } from './features/analytics';
import { promptCompilerRoutes } from './features/prompt-compiler';
import { healthRoutes } from './features/health';
import { modelsRoutes } from './features/models';
import { orchestrationRoutes } from './features/orchestration';
import { organizationRoutes } from './features/organizations';
import { projectRoutes } from './features/projects';
import { templateRoutes } from './features/templates';
import { rateLimit } from './features/rate-limits';
import { metricsRoutes, requestLog } from './features/request-log';
import { requestsRoutes } from './features/requests';
import { webhookRoutes } from './features/webhooks';
import { bodySize } from './lib/body-size';
import { cors } from './lib/cors';
import { errorResponse, notFound, onError } from './lib/error-handler';
import { ApiError } from './lib/errors';
import { requestContext, stampResponse } from './lib/request-context';
import { gzipWhenAsked, noStore } from './lib/response-headers';

const OPENAPI_CONFIG = {
  openapi: '3.1.0',
  info: {
    title: 'Edgeway API',
    version: pkg.version,
    description:
      'Edge-native AI gateway and application backend. Errors use one envelope: `{"error": {"code", "message", "status_code", "details", "request_id", "timestamp"}}`.',
    // package.json is private with no license: all rights reserved.
    license: { name: 'UNLICENSED (proprietary, all rights reserved)', identifier: 'LicenseRef-UNLICENSED' },
  },
  servers: [{ url: '/', description: 'This deployment' }],
  tags: [
    { name: 'health', description: 'Liveness with live dependency checks, and Prometheus metrics' },
    { name: 'auth', description: 'Sign-up, sign-in (password and OAuth), sessions and API keys' },
    { name: 'organizations', description: "The caller's organization and its members" },
    { name: 'requests', description: 'AI requests recorded with their answers (create and read back)' },
    { name: 'chat', description: "Chat completion and streaming in the platform's own formats" },
    { name: 'models', description: 'The model catalogue' },
    { name: 'cache', description: 'Response cache statistics, warming and clearing' },
    { name: 'chats', description: 'Persistent chats, their messages and files (seed 004)' },
    {
      name: 'assistant',
      description:
        'The assistant: multimodal runs (text, images, audio, video) with tools, answered as text or speech (seed 004)',
    },
    { name: 'projects', description: "The organization's projects (seed 003)" },
    { name: 'templates', description: "Orchestration templates: the organization's own and public ones (seed 003)" },
    {
      name: 'orchestration',
      description: 'Runs: multi-phase AI work on the Workflow engine, its events and files (seed 003)',
    },
    { name: 'realtime', description: 'WebSocket chat (seed 002) and live chat rooms' },
    {
      name: 'webhooks',
      description: 'Signed event deliveries to your endpoints (Standard Webhooks), with retries and a log',
    },
    {
      name: 'analytics',
      description: "The organization's usage and performance, from the request log and its runs (seed 003)",
    },
    {
      name: 'prompt-compiler',
      description:
        'Prompt compiler (seed 004): improve a prompt for a model, its parameters as a form, values from text',
    },
    { name: 'openai', description: 'OpenAI-compatible endpoints for OpenAI SDKs (`/v1`)' },
    { name: 'anthropic', description: 'Anthropic-compatible Messages endpoint for Anthropic SDKs (`/v1`)' },
  ],
};

// The document GET /openapi.json serves: the routes' own createRoute definitions, plus the security
// every operation's protect() allows. Also built outside workerd (scripts/openapi-document.mjs).
export function openApiDocument(app: OpenAPIHono<AppEnv>) {
  const doc = app.getOpenAPI31Document(OPENAPI_CONFIG);
  declareSecurity(doc, app);
  return doc;
}

export function createApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  // Outermost, so error and 404 responses are stamped too.
  app.use('*', async (c, next) => {
    await next();
    stampResponse(c.res, c.get('requestId') ?? '', c.get('startedAt') ?? performance.now());
  });
  app.use('*', requestContext);
  // The SDK-compatible surfaces answer every error (404, 405, 413, 429 included) in their SDK's shape.
  app.use('/v1/*', speaks(openaiDialect.error));
  app.use('/v1/messages', speaks(anthropicDialect.error));
  app.use('/v1/messages/*', speaks(anthropicDialect.error));
  // Sees the final status and error code of every request, and sends its event without delaying it.
  app.use('*', requestLog);
  app.use(
    '*',
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        errorResponse(
          c,
          new ApiError('METHOD_NOT_ALLOWED', `${c.req.method} is not allowed here; use ${methods.join(', ')}`, {
            headers: { Allow: methods.join(', ') },
          }),
        ),
    }),
  );
  app.use('*', cors);
  app.use('*', secureHeaders({ crossOriginResourcePolicy: false }));
  app.use('*', gzipWhenAsked);
  app.use('/api/*', noStore);
  app.use('/v1/*', noStore);
  app.use('/internal/*', noStore);
  app.use('/health', noStore);
  app.use('*', bodySize);
  app.use('/api/*', rateLimit);
  app.use('/v1/*', rateLimit);

  app.route('/', healthRoutes);
  app.route('/', metricsRoutes);
  app.route('/api/v1', authRoutes);
  app.route('/api/v1', oauthRoutes);
  app.route('/api/v1', apiKeyRoutes);
  app.route('/api/v1', organizationRoutes);
  app.route('/api/v1', requestsRoutes);
  // /chat/completion and /chat/stream are registered before any /chat/{chat_id} route, so the fixed paths win.
  app.route('/api/v1', chatRoutes);
  app.route('/api/v1', aisuiteRoutes);
  app.route('/api/v1', modelsRoutes);
  app.route('/api/v1', cacheRoutes);
  // After /chat/completion and /chat/stream (chatRoutes): /chat/{chat_id} only matches a UUID.
  app.route('/api/v1', chatsRoutes);
  app.route('/api/v1', projectRoutes);
  app.route('/api/v1', templateRoutes);
  app.route('/api/v1', orchestrationRoutes);
  app.route('/api/v1', fileRoutes);
  app.route('/api/v1', assistantRoutes);
  app.route('/api/v1', webhookRoutes);
  app.route('/api/v1', analyticsRoutes);
  app.route('/api/v1', promptCompilerRoutes);
  app.route('/', roomRoutes);
  app.route('/', socketIoRoutes);
  app.route('/v1', embeddingsRoutes);
  app.route('/v1', openaiRoutes);
  app.route('/v1', anthropicRoutes);
  app.route('/', docsRoutes);

  // Built once per app, on first request: the routes are all registered by then.
  let spec: ReturnType<typeof openApiDocument> | undefined;
  app.get('/openapi.json', (c) => c.json((spec ??= openApiDocument(app))));

  app.onError(onError);
  app.notFound(notFound);
  assertEveryRouteDeclaresAccess(app);
  return app;
}
