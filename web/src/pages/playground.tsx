// The playground: pick a chat model from the catalogue, set a system prompt, temperature and max tokens, and
// watch the answer stream in as Markdown — stop it at any point — then see how it came (cache, tokens, cost,
// timings, request id) and the same request as curl or SDK code. It calls the public platform endpoint
// (POST /api/v1/chat/completion, stream: true) with the session's token, as any client would.
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { PageProps } from '../app';
import { Markdown } from '../lib/markdown';
import { Busy, ErrorNote, Field, Page, TextArea, useLoad } from '../ui/components';
import { AnswerStats, type AnswerFacts } from './playground/answer-stats';
import { type CatalogueModel, defaultModel, loadChatModels } from './playground/catalogue';
import { ModelPicker } from './playground/model-picker';
import { runStream } from './playground/run-stream';
import { SnippetBox } from './playground/snippet-box';
import type { PlaygroundRequest } from './playground/snippets';
import './playground.css';

type Phase = 'idle' | 'streaming' | 'done' | 'stopped' | 'failed';

interface Answer extends AnswerFacts {
  phase: Phase;
  text: string;
  error: unknown;
  finishReason: string | null;
}

const EMPTY: Answer = {
  phase: 'idle',
  text: '',
  error: null,
  finishReason: null,
  meta: null,
  usage: null,
  firstTokenMs: null,
  totalMs: null,
  model: undefined,
  stopped: false,
};

// An empty field means "the model's default": the key is left out of the request.
function numberOrUndefined(raw: string): number | undefined {
  const t = raw.trim();
  return t === '' ? undefined : Number(t);
}

const STATUS: Record<Phase, string> = {
  idle: '',
  streaming: 'Streaming the answer…',
  done: 'Answer complete.',
  stopped: 'Stopped: you stopped the answer here; the text so far is kept.',
  failed: 'The request failed.',
};

export function PlaygroundPage(_props: PageProps): JSX.Element {
  const catalogue = useLoad(loadChatModels, []);
  const models: CatalogueModel[] = catalogue.data ?? [];
  const [modelId, setModelId] = useState('');
  const [system, setSystem] = useState('');
  const [temperature, setTemperature] = useState('0.7');
  const [maxTokens, setMaxTokens] = useState('');
  const [prompt, setPrompt] = useState('');
  const [useCache, setUseCache] = useState(true);
  const [answer, setAnswer] = useState<Answer>(EMPTY);
  const abort = useRef<AbortController | null>(null);
  const startedAt = useRef(0);
  const stoppedAfter = useRef(0);
  const streaming = answer.phase === 'streaming';

  useEffect(() => {
    if (!modelId && catalogue.data) setModelId(defaultModel(catalogue.data)?.id ?? '');
  }, [catalogue.data, modelId]);
  // Leaving the page ends a stream still running: nobody is reading it.
  useEffect(() => () => abort.current?.abort(), []);

  const request: PlaygroundRequest = {
    message: prompt,
    model: modelId,
    ...(system.trim() ? { system_prompt: system } : {}),
    ...(numberOrUndefined(temperature) !== undefined ? { temperature: numberOrUndefined(temperature) } : {}),
    ...(numberOrUndefined(maxTokens) !== undefined ? { max_tokens: numberOrUndefined(maxTokens) } : {}),
  };

  const send = async () => {
    if (streaming) return;
    const model = models.find((m) => m.id === modelId);
    if (!prompt.trim()) {
      setAnswer({ ...EMPTY, phase: 'failed', error: new Error('Write a prompt first.') });
      return;
    }
    const ctl = new AbortController();
    abort.current = ctl;
    startedAt.current = performance.now();
    setAnswer({ ...EMPTY, phase: 'streaming', model });
    try {
      const result = await runStream(
        request,
        { signal: ctl.signal, useCache },
        {
          onOpen: (meta) => setAnswer((a) => ({ ...a, meta })),
          onText: (text, firstTokenMs) => setAnswer((a) => ({ ...a, text, firstTokenMs })),
        },
      );
      setAnswer((a) => ({
        ...a,
        phase: 'done',
        usage: result.usage,
        finishReason: result.finishReason,
        firstTokenMs: result.firstTokenMs,
        totalMs: result.totalMs,
      }));
    } catch (err) {
      if (ctl.signal.aborted) {
        setAnswer((a) => ({ ...a, phase: 'stopped', stopped: true, totalMs: stoppedAfter.current }));
      } else {
        setAnswer((a) => ({ ...a, phase: 'failed', error: err }));
      }
    } finally {
      if (abort.current === ctl) abort.current = null;
    }
  };

  const submit = (e: Event) => {
    e.preventDefault();
    void send();
  };
  // "Until stopped" is the time the person saw, taken at the click (the fetch settles a moment later).
  const stop = () => {
    if (!streaming || !abort.current) return;
    stoppedAfter.current = performance.now() - startedAt.current;
    abort.current.abort();
  };

  return (
    <Page title="Playground">
      {catalogue.error ? <ErrorNote error={catalogue.error} /> : null}
      <div class="pg-layout">
        <form class="card pg-form" onSubmit={submit} noValidate aria-label="Request">
          {catalogue.loading && !catalogue.data ? (
            <Busy label="Loading the models…" />
          ) : (
            <ModelPicker models={models} value={modelId} onChange={setModelId} />
          )}
          <TextArea
            label="System prompt"
            name="system_prompt"
            rows={3}
            placeholder="You are a helpful assistant."
            value={system}
            onInput={(e) => setSystem((e.currentTarget as HTMLTextAreaElement).value)}
          />
          <div class="pg-numbers">
            <Field
              label="Temperature"
              name="temperature"
              type="number"
              inputMode="decimal"
              min={0}
              max={2}
              step={0.1}
              hint="0 to 2; empty: the model's default"
              value={temperature}
              onInput={(e) => setTemperature((e.currentTarget as HTMLInputElement).value)}
            />
            <Field
              label="Max tokens"
              name="max_tokens"
              type="number"
              inputMode="numeric"
              min={1}
              step={1}
              hint="Empty: no limit but the model's"
              value={maxTokens}
              onInput={(e) => setMaxTokens((e.currentTarget as HTMLInputElement).value)}
            />
          </div>
          <TextArea
            label="Prompt"
            name="message"
            rows={6}
            value={prompt}
            aria-describedby="pg-prompt-hint"
            onInput={(e) => setPrompt((e.currentTarget as HTMLTextAreaElement).value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submit(e);
              else if (e.key === 'Escape') stop();
            }}
          />
          <small id="pg-prompt-hint" class="muted pg-hint">
            Ctrl+Enter sends; Escape stops.
          </small>
          <label class="pg-check">
            <input
              type="checkbox"
              name="use_cache"
              checked={useCache}
              onChange={(e) => setUseCache((e.currentTarget as HTMLInputElement).checked)}
            />{' '}
            Answer from the cache when it can
          </label>
          <div class="row">
            <button type="submit" aria-disabled={streaming ? 'true' : undefined}>
              Send
            </button>
            <button type="button" class="danger" aria-disabled={streaming ? undefined : 'true'} onClick={stop}>
              Stop
            </button>
          </div>
        </form>

        <div class="pg-out">
          <section class="card" aria-labelledby="pg-answer-title">
            <div class="pg-answer-head">
              <h2 id="pg-answer-title">Answer</h2>
              <p class="pg-status small" role="status" aria-live="polite" data-phase={answer.phase}>
                {streaming ? <span class="spinner" aria-hidden="true" /> : null} {STATUS[answer.phase]}
                {answer.phase === 'done' && answer.finishReason === 'length'
                  ? ' It reached the max tokens and was cut.'
                  : ''}
              </p>
            </div>
            <div
              class="pg-answer"
              data-testid="answer"
              aria-busy={streaming ? 'true' : 'false'}
              data-phase={answer.phase}
            >
              {answer.text ? (
                <Markdown text={answer.text} />
              ) : (
                <p class="muted">{streaming ? 'Waiting for the first token…' : 'The answer appears here.'}</p>
              )}
            </div>
            <ErrorNote error={answer.error} />
            {answer.phase !== 'idle' && answer.meta ? <AnswerStats facts={answer} /> : null}
          </section>
          <SnippetBox request={request} />
        </div>
      </div>
    </Page>
  );
}
