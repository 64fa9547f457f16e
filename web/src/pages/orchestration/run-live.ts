// A run kept live: its detail (GET /orchestration/{id}) and its event stream (GET …/events, SSE). Each
// event is applied at once (a phase starts, completes, the run is cancelled) so the page changes as it
// happens, then the detail is read again for what events do not carry (outputs, files, counts). The stream
// ends when the run has; if it ends earlier (a dropped connection, the server's stream limit) it is opened
// again from the last event seen (Last-Event-ID), so nothing is shown twice or missed.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../lib/api';
import { streamSse, type SseEvent } from '../../lib/sse';
import { TERMINAL, type RunDetail } from './types';

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'ended';

export interface LiveRun {
  detail: RunDetail | null;
  error: unknown;
  connection: Connection;
  // The latest milestone in words, for the page's live region.
  announcement: string;
}

interface EventData {
  phase_code?: string;
  phase_name?: string;
  status?: string;
  error?: string;
}

function applyEvent(d: RunDetail, e: SseEvent): RunDetail {
  let data: EventData = {};
  try {
    data = JSON.parse(e.data) as EventData;
  } catch {
    return d;
  }
  const setPhase = (status: string) => d.phases.map((p) => (p.phase_code === data.phase_code ? { ...p, status } : p));
  const closeOpen = (status: string) =>
    d.phases.map((p) => (p.status === 'pending' || p.status === 'running' ? { ...p, status } : p));
  switch (e.event) {
    case 'orchestration.started':
      return { ...d, run: { ...d.run, status: 'running' } };
    case 'phase.started':
      return { ...d, run: { ...d.run, status: 'running' }, phases: setPhase('running') };
    case 'orchestration.phase_completed':
      return { ...d, phases: setPhase('completed') };
    case 'orchestration.completed':
      return { ...d, run: { ...d.run, status: 'completed' } };
    case 'orchestration.failed':
      return { ...d, run: { ...d.run, status: 'failed', error: data.error ?? d.run.error } };
    case 'orchestration.cancelled':
      return { ...d, run: { ...d.run, status: 'cancelled' }, phases: closeOpen('cancelled') };
    default:
      return d;
  }
}

function announce(e: SseEvent): string {
  let data: EventData = {};
  try {
    data = JSON.parse(e.data) as EventData;
  } catch {
    // An event without JSON is announced by its name alone.
  }
  const phase = data.phase_name ?? data.phase_code ?? 'A phase';
  switch (e.event) {
    case 'orchestration.started':
      return 'The run started.';
    case 'phase.started':
      return `Phase ${phase} started.`;
    case 'orchestration.phase_completed':
      return `Phase ${phase} completed.`;
    case 'orchestration.completed':
      return 'The run completed.';
    case 'orchestration.failed':
      return 'The run failed.';
    case 'orchestration.cancelled':
      return 'The run was cancelled.';
    default:
      return '';
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export function useLiveRun(runId: string): LiveRun & { refresh: () => void; setDetail: (d: RunDetail) => void } {
  const [state, setState] = useState<LiveRun>({
    detail: null,
    error: null,
    connection: 'connecting',
    announcement: '',
  });
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const ctl = new AbortController();
    const { signal } = ctl;
    let reading: Promise<void> | null = null;
    let again = false;
    // The run's status as last known here (the detail read, or a terminal event): when the stream ends,
    // this says whether to open it again.
    let status = '';
    // One read of the detail at a time; events arriving meanwhile ask for one more read after it.
    const refresh = (): Promise<void> => {
      if (reading) {
        again = true;
        return reading;
      }
      reading = (async () => {
        do {
          again = false;
          try {
            const detail = await api<RunDetail>(`/api/v1/orchestration/${encodeURIComponent(runId)}`, { signal });
            status = detail.run.status;
            if (!signal.aborted) setState((s) => ({ ...s, detail, error: null }));
          } catch (error) {
            if (!signal.aborted) setState((s) => ({ ...s, error }));
          }
        } while (again && !signal.aborted);
        reading = null;
      })();
      return reading;
    };

    (async () => {
      await refresh();
      let lastId = 0;
      let failures = 0;
      while (!signal.aborted) {
        try {
          await streamSse(
            `/api/v1/orchestration/${encodeURIComponent(runId)}/events`,
            { method: 'GET', signal, headers: lastId > 0 ? { 'last-event-id': String(lastId) } : {} },
            (e) => {
              if (e.id !== null && /^\d+$/.test(e.id)) lastId = Number(e.id);
              failures = 0;
              if (e.event === 'orchestration.completed') status = 'completed';
              else if (e.event === 'orchestration.failed') status = 'failed';
              else if (e.event === 'orchestration.cancelled') status = 'cancelled';
              const said = announce(e);
              setState((s) => ({
                ...s,
                connection: 'live',
                detail: s.detail ? applyEvent(s.detail, e) : s.detail,
                announcement: said || s.announcement,
              }));
              void refresh();
            },
          );
        } catch (error) {
          if (signal.aborted) return;
          failures++;
          // A missing run or a refused credential does not get better by asking again.
          const code = (error as { status?: number }).status ?? 0;
          if (code >= 400 && code < 500) {
            setState((s) => ({ ...s, error, connection: 'ended' }));
            return;
          }
        }
        if (signal.aborted) return;
        await refresh();
        const ended = TERMINAL.includes(status);
        setState((s) => ({ ...s, connection: ended ? 'ended' : 'reconnecting' }));
        if (ended) return;
        await sleep(Math.min(1000 * 2 ** failures, 15_000), signal);
      }
    })();
    return () => ctl.abort();
  }, [runId, tick]);

  return {
    ...state,
    refresh: () => setTick((t) => t + 1),
    setDetail: (detail) => setState((s) => ({ ...s, detail })),
  };
}
