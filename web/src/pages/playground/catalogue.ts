// The model catalogue as the playground uses it: chat models only (embedding models answer no chat), the
// deployment's available ones first, and the cost of an answer from the catalogue's price per 1,000 tokens.
import { api } from '../../lib/api';

export interface CatalogueModel {
  id: string;
  name: string;
  provider: string;
  context_length: number;
  description: string;
  capabilities: string[];
  available: boolean;
  // USD per 1,000 tokens.
  cost_per_token: { input: number; output: number };
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export const isChatModel = (m: CatalogueModel): boolean => !m.capabilities.includes('embedding');

export async function loadChatModels(signal: AbortSignal): Promise<CatalogueModel[]> {
  const all = await api<CatalogueModel[]>('/api/v1/models', { signal });
  return all.filter(isChatModel);
}

// The model picked when the page opens: the built-in local model when this deployment offers it (it always
// answers), else the first available one, else the first of the list.
export function defaultModel(models: CatalogueModel[]): CatalogueModel | undefined {
  return models.find((m) => m.id === 'edgeway-local' && m.available) ?? models.find((m) => m.available) ?? models[0];
}

export function costOf(model: CatalogueModel, usage: Usage): number {
  return (
    (usage.prompt_tokens * model.cost_per_token.input + usage.completion_tokens * model.cost_per_token.output) / 1000
  );
}

// Prices are tiny numbers: enough digits to tell $0.00015 from $0.0006, none trailing.
export function fmtPrice(usdPer1k: number): string {
  if (usdPer1k === 0) return 'free';
  return `$${Number(usdPer1k.toPrecision(3)).toString()}`;
}
