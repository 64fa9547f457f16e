export { isUpstreamFailure, providerFailure, providerTimeout } from './errors';
export { defaultProvider, getProvider, providersConfigured } from './registry';
export {
  PROVIDER_IDS,
  type ChatMessage,
  type ChatRequest,
  type ChatResult,
  type ContentPart,
  IMAGE_MEDIA_TYPES,
  type ImageMediaType,
  type ImagePart,
  type FinishReason,
  type Provider,
  type ProviderId,
  type StreamEvent,
  type Usage,
} from './types';
export {
  contentText,
  hasImages,
  imagesOf,
  lastUserIndex,
  lastUserText,
  plainText,
  textOnly,
  UsageSchema,
} from './messages';
