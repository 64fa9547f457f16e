// "Copy as curl / openai SDK / anthropic SDK": one request, three ways, picked with radio buttons (keyboard
// friendly as they are), each with its copy button.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { CopyButton } from '../../ui/components';
import { anthropicSnippet, curlSnippet, openaiSnippet, type PlaygroundRequest } from './snippets';

const KINDS = [
  { id: 'curl', label: 'curl', build: curlSnippet },
  { id: 'openai', label: 'openai SDK', build: openaiSnippet },
  { id: 'anthropic', label: 'anthropic SDK', build: anthropicSnippet },
] as const;

type Kind = (typeof KINDS)[number]['id'];

export function SnippetBox({ request }: { request: PlaygroundRequest }): JSX.Element {
  const [kind, setKind] = useState<Kind>('curl');
  const chosen = KINDS.find((k) => k.id === kind) ?? KINDS[0];
  const code = chosen.build(location.origin, request);
  return (
    <section class="card pg-snippets" aria-labelledby="pg-snippets-title">
      <h2 id="pg-snippets-title">Use it from code</h2>
      <fieldset class="pg-kinds">
        <legend class="visually-hidden">Snippet</legend>
        {KINDS.map((k) => (
          <label key={k.id} class="pg-kind">
            <input type="radio" name="pg-snippet" value={k.id} checked={k.id === kind} onChange={() => setKind(k.id)} />{' '}
            {k.label}
          </label>
        ))}
      </fieldset>
      <pre class="pg-code" aria-label={`${chosen.label} snippet`} tabIndex={0}>
        <code data-snippet={chosen.id}>{code}</code>
      </pre>
      <div class="row">
        <CopyButton text={code} label={`Copy as ${chosen.label}`} />
        <span class="muted small">
          Set <code>EDGEWAY_API_KEY</code> to one of your <a href="#/keys">API keys</a> first.
        </span>
      </div>
    </section>
  );
}
