// What an answer cost and how it came: cache status and similarity, tokens, price, the page's own timings
// (time to first token and total), and the request id to quote when asking about it.
import type { JSX } from 'preact';
import { fmtInt, fmtMs, fmtUsd } from '../../lib/format';
import { type CatalogueModel, costOf, type Usage } from './catalogue';
import type { StreamMeta } from './run-stream';

export interface AnswerFacts {
  meta: StreamMeta | null;
  usage: Usage | null;
  firstTokenMs: number | null;
  totalMs: number | null;
  model: CatalogueModel | undefined;
  stopped: boolean;
}

function cacheText(meta: StreamMeta | null): string {
  if (!meta?.cacheStatus) return '—';
  if (meta.cacheStatus !== 'HIT') return meta.cacheStatus;
  return meta.similarity === null ? 'HIT (exact)' : `HIT (similarity ${meta.similarity.toFixed(3)})`;
}

export function AnswerStats({ facts }: { facts: AnswerFacts }): JSX.Element {
  const { meta, usage, model, stopped } = facts;
  const notTold = stopped ? 'not told (stopped)' : '—';
  return (
    <dl class="pg-stats" data-testid="answer-stats">
      <div>
        <dt>Cache</dt>
        <dd data-testid="cache-status">{cacheText(meta)}</dd>
      </div>
      <div>
        <dt>Tokens (prompt / completion / total)</dt>
        <dd data-testid="tokens">
          {usage
            ? `${fmtInt(usage.prompt_tokens)} / ${fmtInt(usage.completion_tokens)} / ${fmtInt(usage.total_tokens)}`
            : notTold}
        </dd>
      </div>
      <div>
        <dt>Cost</dt>
        <dd data-testid="cost">{usage && model ? fmtUsd(costOf(model, usage)) : notTold}</dd>
      </div>
      <div>
        <dt>First token</dt>
        <dd data-testid="ttft">{fmtMs(facts.firstTokenMs)}</dd>
      </div>
      <div>
        <dt>{stopped ? 'Until stopped' : 'Total'}</dt>
        <dd data-testid="total-time">{fmtMs(facts.totalMs)}</dd>
      </div>
      <div>
        <dt>Request id</dt>
        <dd>
          <code data-testid="request-id">{meta?.requestId ?? '—'}</code>
        </dd>
      </div>
    </dl>
  );
}
