// Small shared pieces every page uses: an error shown in plain words with its request id, labelled fields,
// a copy button, a progress bar and a page frame. Pages build on these so the app looks and reads as one.
import type { ComponentChildren, InputHTMLAttributes, JSX, SelectHTMLAttributes, TextareaHTMLAttributes } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiProblem, plainWords } from '../lib/api';

export function ErrorNote({ error }: { error: unknown }): JSX.Element | null {
  if (error == null) return null;
  const problem =
    error instanceof ApiProblem
      ? error
      : new ApiProblem(0, 'ERROR', error instanceof Error ? error.message : String(error), null);
  return (
    <div class="error" role="alert" data-code={problem.code}>
      <p>{plainWords(problem)}</p>
      {problem.requestId ? (
        <p class="muted small">
          Request id: <code>{problem.requestId}</code>
        </p>
      ) : null}
    </div>
  );
}

export function Page({
  title,
  children,
  actions,
}: {
  title: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Edgeway`;
  }, [title]);
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title" ref={heading} tabIndex={-1}>
          {title}
        </h1>
        {actions ? <div class="actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

type InputProps = InputHTMLAttributes & { label: string; hint?: string };

let fieldSeq = 0;
const useFieldId = () => useRef(`f${++fieldSeq}`).current;

export function Field({ label, hint, id, ...rest }: InputProps): JSX.Element {
  const own = useFieldId();
  const fid = (id as string | undefined) ?? own;
  return (
    <div class="field">
      <label for={fid}>{label}</label>
      <input id={fid} aria-describedby={hint ? `${fid}-hint` : undefined} {...rest} />
      {hint ? (
        <small id={`${fid}-hint`} class="muted">
          {hint}
        </small>
      ) : null}
    </div>
  );
}

type SelectProps = SelectHTMLAttributes & { label: string; children: ComponentChildren };

export function Select({ label, id, children, ...rest }: SelectProps): JSX.Element {
  const own = useFieldId();
  const fid = (id as string | undefined) ?? own;
  return (
    <div class="field">
      <label for={fid}>{label}</label>
      <select id={fid} {...rest}>
        {children}
      </select>
    </div>
  );
}

type AreaProps = TextareaHTMLAttributes & { label: string };

export function TextArea({ label, id, ...rest }: AreaProps): JSX.Element {
  const own = useFieldId();
  const fid = (id as string | undefined) ?? own;
  return (
    <div class="field">
      <label for={fid}>{label}</label>
      <textarea id={fid} {...rest} />
    </div>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }): JSX.Element {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="secondary"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setDone(true);
          setTimeout(() => setDone(false), 1500);
        } catch {
          setDone(false);
        }
      }}
    >
      <span aria-live="polite">{done ? 'Copied' : label}</span>
    </button>
  );
}

export function Progress({ value, max = 1, label }: { value: number | null; max?: number; label: string }) {
  return (
    <div class="progress">
      <progress aria-label={label} value={value ?? undefined} max={max} />
    </div>
  );
}

export function Busy({ label = 'Loading…' }: { label?: string }): JSX.Element {
  return (
    <p class="busy" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

// Loads once (and again when `deps` change), with the loading and error states every page needs.
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true, error: null }));
    load(ctl.signal).then(
      (data) => !ctl.signal.aborted && setState({ data, error: null, loading: false }),
      (error: unknown) => !ctl.signal.aborted && setState({ data: null, error, loading: false }),
    );
    return () => ctl.abort();
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}
