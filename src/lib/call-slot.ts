import type { NewRequestRow } from '../db/schema';

export type CallSummary = NewRequestRow & { upstreamMs: number };

// One per HTTP request: an AI call settling (possibly after its streamed response has gone out)
// fills it, so the request log can carry model, tokens, cost, cache status and upstream time.
export class CallSlot {
  private resolve!: (s: CallSummary | undefined) => void;
  readonly summary: Promise<CallSummary | undefined>;
  started = false;

  constructor() {
    this.summary = new Promise((r) => (this.resolve = r));
  }

  begin(): void {
    this.started = true;
  }

  settle(summary: CallSummary): void {
    this.resolve(summary);
  }

  // A request whose call never started (refused before the pipeline) has nothing to wait for.
  close(): void {
    if (!this.started) this.resolve(undefined);
  }
}
