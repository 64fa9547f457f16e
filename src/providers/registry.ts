import type { Config } from '../config';
import { localProvider } from './local';
import { openaiProvider } from './openai';
import type { Provider, ProviderId } from './types';

// Typed: adding an id to PROVIDER_IDS without a provider here is a compile error.
export const PROVIDERS: Readonly<Record<ProviderId, Provider>> = {
  local: localProvider,
  openai: openaiProvider,
};

export function getProvider(id: ProviderId): Provider {
  return PROVIDERS[id];
}

// Which vendors this deployment could reach, as health reports it. Vendors whose providers are
// still to come (anthropic, groq, bedrock, openai-compatible) are reported from their variables.
export function providersConfigured(config: Config): Record<string, boolean> {
  return {
    openai: openaiProvider.isConfigured(config),
    anthropic: config.ANTHROPIC_API_KEY !== undefined,
    groq: config.GROQ_API_KEY !== undefined,
    bedrock:
      config.AWS_ACCESS_KEY_ID !== undefined && config.AWS_SECRET_ACCESS_KEY !== undefined && config.AWS_REGION !== undefined,
    openai_compatible: config.OPENAI_COMPATIBLE_BASE_URL !== undefined,
    local: localProvider.isConfigured(config),
  };
}

// Without any key the built-in local provider answers, so a fresh clone works offline.
export function defaultProvider(config: Config): Provider {
  if (config.DEFAULT_PROVIDER === 'local') return localProvider;
  if (config.DEFAULT_PROVIDER === 'openai') return openaiProvider;
  return openaiProvider.isConfigured(config) ? openaiProvider : localProvider;
}
