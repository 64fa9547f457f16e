// A run's phases in order: each with its status in words, its time and tokens, its output (Markdown, shown
// on demand) and the file it wrote, if any, downloaded through the API with the session's credentials.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { request } from '../../lib/api';
import { fmtInt, fmtMs } from '../../lib/format';
import { Markdown } from '../../lib/markdown';
import { ErrorNote } from '../../ui/components';
import { StatusBadge } from './list-state';
import type { Operation, Phase } from './types';

// The file arrives as a blob and is saved through a temporary blob: link: a plain link could not carry
// the bearer token.
async function download(op: Operation): Promise<void> {
  if (!op.file_url) return;
  const res = await request(op.file_url);
  const blob = await res.blob();
  const fromHeader = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1];
  const name = fromHeader ?? (typeof op.result.filename === 'string' ? op.result.filename : 'phase.md');
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function FileButton({ op, phase }: { op: Operation; phase: Phase }): JSX.Element {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const name = typeof op.result.filename === 'string' ? op.result.filename : 'the file';
  return (
    <div>
      <button
        type="button"
        class="secondary"
        disabled={busy}
        aria-label={`Download ${name} (output of ${phase.phase_name})`}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            await download(op);
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        {busy ? 'Downloading…' : `Download ${name}`}
      </button>
      <ErrorNote error={error} />
    </div>
  );
}

export function PhaseList({ phases, operations }: { phases: Phase[]; operations: Operation[] }): JSX.Element {
  return (
    <ol class="orch-phases">
      {phases.map((p) => {
        const files = operations.filter((o) => o.phase_id === p.id && o.file_url);
        return (
          <li key={p.id} class={`orch-phase is-${p.status}`} data-phase={p.phase_name} data-status={p.status}>
            <div class="orch-phase-head">
              <span class="orch-phase-name">
                <span class="muted small">{p.phase_code}</span> <strong>{p.phase_name}</strong>
              </span>
              <StatusBadge status={p.status} />
              {p.status === 'running' ? <span class="spinner" aria-hidden="true" /> : null}
              <span class="muted small">
                {p.execution_time_ms !== null ? fmtMs(p.execution_time_ms) : ''}
                {p.token_usage ? ` · ${fmtInt(p.token_usage.total_tokens)} tokens` : ''}
                {p.model ? ` · ${p.model}` : ''}
                {p.attempts > 1 ? ` · ${p.attempts} attempts` : ''}
              </span>
            </div>
            {p.error ? <p class="orch-phase-error">{p.error}</p> : null}
            {p.response_text ? (
              <details class="orch-output">
                <summary>Output of {p.phase_name}</summary>
                <div class="orch-output-body">
                  <Markdown text={p.response_text} />
                </div>
              </details>
            ) : null}
            {files.map((op) => (
              <FileButton key={op.id} op={op} phase={p} />
            ))}
          </li>
        );
      })}
    </ol>
  );
}
