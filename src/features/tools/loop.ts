import { z } from 'zod';
import type { ChatCall, PipelineDeps } from '../gateway';
import { runChat } from '../gateway';
import type { ChatMessage, ChatResult, ToolCall, ToolChoice, ToolDefinition, Usage } from '../providers';
import { findTool } from './registry';
import { type ToolContext, ToolError, type ToolLoopResult, type ToolRecord } from './types';

// The tool-call loop: the model answers, asks for tools, is given their results, answers again — each
// round one gateway call (counted, limited, logged like any other), never cached (its input holds live
// tool results, and a cached answer carries no tool calls). Bounded three ways: TOOL_MAX_ROUNDS model
// calls, TOOL_LOOP_DEADLINE_MS for the whole loop, TOOL_TIMEOUT_MS for each tool call. Past a bound the
// loop stops and answers with what it has, saying why; a failing tool is an answer to the model, not an
// error of the loop. Why: docs/design/tools.md

// The gateway call with the model-facing tool fields (the gateway's ChatCall carries them).
export type ToolLoopCall = ChatCall & { tools?: ToolDefinition[]; toolChoice?: ToolChoice };

// A tool result beyond this is cut: it goes into every later round's prompt.
export const MAX_RESULT_CHARS = 16_000;
const NO_CACHE = { read: false, write: false, semantic: false, threshold: 1 } as const;

const addUsage = (a: Usage, b: Usage): Usage => ({
  promptTokens: a.promptTokens + b.promptTokens,
  completionTokens: a.completionTokens + b.completionTokens,
  totalTokens: a.totalTokens + b.totalTokens,
});

// Aborted by whichever comes first of `sources`; `dispose` stops listening (a loop's signal outlives it).
function linked(sources: AbortSignal[]): { controller: AbortController; dispose: () => void } {
  const controller = new AbortController();
  const listeners: [AbortSignal, () => void][] = [];
  for (const s of sources) {
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    const on = () => controller.abort(s.reason);
    s.addEventListener('abort', on, { once: true });
    listeners.push([s, on]);
  }
  return { controller, dispose: () => listeners.forEach(([s, on]) => s.removeEventListener('abort', on)) };
}

function issues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'arguments'}: ${i.message}`)
    .join('; ');
}

function parseArguments(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ToolError('The arguments are not valid JSON');
  }
}

// The content of the `tool` message: the result as JSON, or {"error": ...}.
export function toolContent(record: Pick<ToolRecord, 'result' | 'error'>): string {
  const text = JSON.stringify(record.error !== null ? { error: record.error } : (record.result ?? null));
  return text.length <= MAX_RESULT_CHARS
    ? text
    : `${text.slice(0, MAX_RESULT_CHARS)}… [cut at ${MAX_RESULT_CHARS} characters]`;
}

interface LoopState {
  deps: PipelineDeps;
  ctx: ToolContext;
  offered: Set<string>;
  signal: AbortSignal;
}

async function runOne(state: LoopState, call: ToolCall, round: number): Promise<ToolRecord> {
  const started = performance.now();
  const timeoutMs = state.ctx.config.TOOL_TIMEOUT_MS;
  const record = (result: unknown, error: string | null): ToolRecord => ({
    id: call.id,
    round,
    name: call.name,
    arguments: call.arguments,
    result,
    error,
    durationMs: Math.round(performance.now() - started),
  });
  const tool = state.offered.has(call.name) ? findTool(call.name) : undefined;
  if (!tool) return record(null, `Unknown tool '${call.name.slice(0, 64)}'`);
  let args: unknown;
  try {
    const parsed = tool.args.safeParse(parseArguments(call.arguments));
    if (!parsed.success) return record(null, `Invalid arguments: ${issues(parsed.error)}`);
    args = parsed.data;
  } catch (err) {
    return record(null, err instanceof ToolError ? err.message : 'The arguments could not be read');
  }
  const { controller, dispose } = linked([state.signal]);
  let timedOut = false;
  let stop: () => void = () => undefined;
  // A tool that ignores its signal is still not waited for past its deadline.
  const gaveUp = new Promise<never>((_, reject) => {
    const fail = () => reject(controller.signal.reason ?? new Error('aborted'));
    controller.signal.addEventListener('abort', fail, { once: true });
    stop = () => controller.signal.removeEventListener('abort', fail);
  });
  gaveUp.catch(() => undefined);
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new ToolError(`timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  try {
    const result = await Promise.race([tool.run(args, { ...state.ctx, signal: controller.signal }), gaveUp]);
    return record(result, null);
  } catch (err) {
    if (timedOut) return record(null, `The tool did not answer within ${timeoutMs} ms (TOOL_TIMEOUT_MS)`);
    if (state.signal.aborted) return record(null, 'The tool was stopped: the loop ended before it answered');
    if (err instanceof ToolError) return record(null, err.message);
    // Not the model's business what broke; the log has it (secrets are scrubbed there).
    state.deps.log.warn('tool failed', { tool: call.name, error: err instanceof Error ? err.message : String(err) });
    return record(null, 'The tool failed unexpectedly');
  } finally {
    clearTimeout(timer);
    stop();
    dispose();
  }
}

function stoppedAnswer(last: ChatResult | undefined, call: ChatCall, note: string, usage: Usage): ChatResult {
  const text = last?.text.trim() ? last.text : note;
  return { text, model: last?.model ?? call.model ?? '', finishReason: 'stop', usage };
}

export async function runToolLoop(
  deps: PipelineDeps,
  call: ToolLoopCall,
  tools: ToolDefinition[],
  ctx: ToolContext,
): Promise<ToolLoopResult> {
  const { TOOL_MAX_ROUNDS: maxRounds, TOOL_LOOP_DEADLINE_MS: deadlineMs } = ctx.config;
  const { controller, dispose } = linked([call.signal, ctx.signal]);
  let deadlinePassed = false;
  const deadline = setTimeout(() => {
    deadlinePassed = true;
    controller.abort(new ToolError(`the tool loop's deadline of ${deadlineMs} ms passed`));
  }, deadlineMs);
  const callerGone = () => call.signal.aborted || ctx.signal.aborted;
  const state: LoopState = { deps, ctx, offered: new Set(tools.map((t) => t.name)), signal: controller.signal };
  const messages: ChatMessage[] = [...call.messages];
  const records: ToolRecord[] = [];
  let usage: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
  let last: ChatResult | undefined;
  let rounds = 0;
  const stopped = (stoppedBy: 'max_rounds' | 'deadline', note: string): ToolLoopResult => ({
    result: stoppedAnswer(last, call, note, usage),
    rounds,
    toolCalls: records,
    stoppedBy,
  });
  const deadlineNote = () =>
    `Stopped: the tool loop's deadline (${deadlineMs} ms, TOOL_LOOP_DEADLINE_MS) passed after ${rounds} model round${rounds === 1 ? '' : 's'}.`;
  try {
    for (;;) {
      if (deadlinePassed) return stopped('deadline', deadlineNote());
      rounds++;
      const round: ToolLoopCall = {
        ...call,
        messages: [...messages],
        tools,
        // The caller's choice holds for the first answer only: forcing a tool every round would never end.
        toolChoice: rounds === 1 || call.toolChoice === 'none' ? call.toolChoice : 'auto',
        cachePolicy: { ...NO_CACHE },
        signal: controller.signal,
      };
      let result: ChatResult;
      try {
        result = (await runChat(deps, round)).result;
      } catch (err) {
        if (deadlinePassed && !callerGone()) return stopped('deadline', deadlineNote());
        throw err;
      }
      usage = addUsage(usage, result.usage);
      last = result;
      const asked = result.toolCalls ?? [];
      if (asked.length === 0) {
        return { result: { ...result, usage }, rounds, toolCalls: records, stoppedBy: 'answer' };
      }
      if (rounds >= maxRounds) {
        // Asked for, never run: the model would not see the results.
        const error = `Not run: the loop reached TOOL_MAX_ROUNDS (${maxRounds})`;
        for (const c of asked) {
          records.push({
            id: c.id,
            round: rounds,
            name: c.name,
            arguments: c.arguments,
            result: null,
            error,
            durationMs: 0,
          });
        }
        return stopped(
          'max_rounds',
          `Stopped after ${rounds} model rounds (TOOL_MAX_ROUNDS): the model was still asking for tools (${asked
            .map((c) => c.name)
            .join(', ')}).`,
        );
      }
      messages.push({ role: 'assistant', content: result.text, toolCalls: asked });
      // A round's calls run side by side; their results go back in the order the model asked.
      const done = await Promise.all(asked.map((c) => runOne(state, c, rounds)));
      if (callerGone())
        throw controller.signal.reason instanceof Error ? controller.signal.reason : new Error('aborted');
      for (const r of done) {
        records.push(r);
        messages.push({ role: 'tool', content: toolContent(r), toolCallId: r.id });
      }
    }
  } finally {
    clearTimeout(deadline);
    dispose();
  }
}
