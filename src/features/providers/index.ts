export { isUpstreamFailure, providerFailure, providerTimeout } from './errors';
export { defaultProvider, getProvider, providersConfigured } from './registry';
export {
  PROVIDER_IDS,
  type ChatMessage,
  type ChatRequest,
  type ChatResult,
  type FinishReason,
  type Provider,
  type ProviderId,
  type StreamEvent,
  type Usage,
} from './types';
export { lastUserIndex, lastUserText, UsageSchema } from './messages';
