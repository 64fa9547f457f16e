import type { Config } from '../../config';
import { ApiError } from '../../lib/errors';
import { defaultProvider, getProvider } from '../providers';
import { PROVIDER_IDS, type Provider, type ProviderId } from '../providers';
import { type CatalogueEntry, findModel } from './catalogue';

export interface Target {
  provider: Provider;
  model: string;
  entry: CatalogueEntry | undefined;
}

// aisuite's provider names next to ours.
const PROVIDER_ALIASES: Record<string, ProviderId> = {
  aws: 'bedrock',
  ollama: 'openai-compatible',
  openai_compatible: 'openai-compatible',
};

function providerId(prefix: string): ProviderId | undefined {
  const lower = prefix.toLowerCase();
  if ((PROVIDER_IDS as readonly string[]).includes(lower)) return lower as ProviderId;
  return PROVIDER_ALIASES[lower];
}

// "provider:model" (aisuite's form) names both; a bare id must be in the catalogue. The caller's field name
// goes into the 400 so clients see which of model / fallbacks[i] was wrong.
export function parseTarget(spec: string | undefined, config: Config, field = 'model'): Target {
  if (spec === undefined || spec.trim() === '') {
    const provider = defaultProvider(config);
    const model = provider.defaultModel(config);
    return { provider, model, entry: findModel(model) };
  }
  const colon = spec.indexOf(':');
  const prefixed = colon > 0 ? providerId(spec.slice(0, colon)) : undefined;
  if (prefixed) {
    const model = spec.slice(colon + 1).trim();
    if (model === '') throw unknownModel(spec, field);
    const entry = findModel(model);
    return { provider: getProvider(prefixed), model: entry?.id ?? model, entry };
  }
  const entry = findModel(spec);
  if (!entry) throw unknownModel(spec, field);
  return { provider: getProvider(entry.provider), model: entry.id, entry };
}

function unknownModel(spec: string, field: string): ApiError {
  const shown = spec.length > 100 ? `${spec.slice(0, 100)}…` : spec;
  return new ApiError('VALIDATION_ERROR', `Unknown model '${shown}'`, {
    details: [
      { field, message: `Unknown model '${shown}': use a catalogue id (GET /api/v1/models) or provider:model` },
    ],
  });
}

export function requireConfigured(target: Target, config: Config): void {
  if (!target.provider.isConfigured(config)) {
    throw new ApiError('SERVICE_UNAVAILABLE', `Provider '${target.provider.id}' is not configured on this deployment`);
  }
}

// The target an answer came from when it was not routed here (a cached answer, another request's
// flight), for recording and for the dialects.
export function targetOf(answer: { provider: string; model: string }, fallback: Target): Target {
  const id = (PROVIDER_IDS as readonly string[]).includes(answer.provider)
    ? (answer.provider as ProviderId)
    : fallback.provider.id;
  return { provider: getProvider(id), model: answer.model, entry: findModel(answer.model) };
}
