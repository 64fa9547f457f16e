import type { Config } from '../../config';
import { anthropicProvider } from './anthropic';
import { bedrockProvider } from './bedrock';
import { groqProvider } from './groq';
import { localProvider } from './local';
import { openaiProvider } from './openai';
import { openaiCompatibleProvider } from './openai-compatible';
import type { Provider, ProviderId } from './types';

// Typed: adding an id to PROVIDER_IDS without a provider here is a compile error.
export const PROVIDERS: Readonly<Record<ProviderId, Provider>> = {
  local: localProvider,
  openai: openaiProvider,
  groq: groqProvider,
  'openai-compatible': openaiCompatibleProvider,
  anthropic: anthropicProvider,
  bedrock: bedrockProvider,
};

export function getProvider(id: ProviderId): Provider {
  return PROVIDERS[id];
}

// Which vendors this deployment can reach, as health reports them (its `providers_configured` field).
export function providersConfigured(config: Config): Record<string, boolean> {
  return {
    openai: openaiProvider.isConfigured(config),
    anthropic: anthropicProvider.isConfigured(config),
    groq: groqProvider.isConfigured(config),
    bedrock: bedrockProvider.isConfigured(config),
    openai_compatible: openaiCompatibleProvider.isConfigured(config),
    local: localProvider.isConfigured(config),
  };
}

// Without any key the built-in local provider answers, so a fresh clone works offline.
export function defaultProvider(config: Config): Provider {
  if (config.DEFAULT_PROVIDER === 'local') return localProvider;
  if (config.DEFAULT_PROVIDER === 'openai') return openaiProvider;
  return openaiProvider.isConfigured(config) ? openaiProvider : localProvider;
}
