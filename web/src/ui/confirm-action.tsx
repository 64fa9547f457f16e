// A destructive action in two steps (revoke a key, remove a member, delete a project): the first button asks, the question
// takes its place with focus on "yes"; Escape or Cancel puts focus back on the first button. Keyboard only
// works throughout, and nothing is lost to a stray click.
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

interface Props {
  // The visible text of the first button and its fuller accessible name ("Revoke" / "Revoke key ci").
  label: string;
  name: string;
  question: string;
  // Default: "Yes, <label>".
  confirmLabel?: string;
  // Errors are the caller's to show; the question closes either way.
  onConfirm: () => Promise<void>;
}

export function ConfirmAction({ label, name, question, confirmLabel, onConfirm }: Props): JSX.Element {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [refocus, setRefocus] = useState(false);
  const yes = useRef<HTMLButtonElement>(null);
  const trigger = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) yes.current?.focus();
    else if (refocus) {
      trigger.current?.focus();
      setRefocus(false);
    }
  }, [asking, refocus]);
  const cancel = () => {
    setAsking(false);
    setRefocus(true);
  };
  if (!asking)
    return (
      <button ref={trigger} type="button" class="secondary" aria-label={name} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  return (
    <span
      class="confirm"
      role="group"
      aria-label={question}
      onKeyDown={(e) => {
        if (e.key === 'Escape') cancel();
      }}
    >
      <span class="confirm-q">{question}</span>
      <button
        ref={yes}
        type="button"
        class="danger"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await onConfirm();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        {busy ? 'Working…' : (confirmLabel ?? `Yes, ${label.toLowerCase()}`)}
      </button>
      <button type="button" class="secondary" disabled={busy} onClick={cancel}>
        Cancel
      </button>
    </span>
  );
}
