import type { NewRequestRow } from '../db/schema';

// A settled AI call: its `requests` row (createdAt: when it settled), the time spent on providers, and
// whether the row is already stored (the requests endpoint writes its row itself, to answer its id).
export type CallSummary = NewRequestRow & { upstreamMs: number; stored: boolean };

// One per HTTP request: an AI call settling (possibly after its streamed response has gone out)
// fills it, so the request log can carry the call's row, model, tokens, cost, cache status and upstream
// time. A request may make several calls (cache warm): each is kept, the first one is `summary`.
export class CallSlot {
  private resolve!: (s: CallSummary | undefined) => void;
  readonly summary: Promise<CallSummary | undefined>;
  readonly calls: CallSummary[] = [];
  started = false;

  constructor() {
    this.summary = new Promise((r) => (this.resolve = r));
  }

  begin(): void {
    this.started = true;
  }

  settle(summary: CallSummary): void {
    this.calls.push(summary);
    this.resolve(summary);
  }

  // A request whose call never started (refused before the pipeline) has nothing to wait for.
  close(): void {
    if (!this.started) this.resolve(undefined);
  }
}
