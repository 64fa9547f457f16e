// Child process of the bench: the project's mock upstream (test/mock-upstream, JSON + SSE) and the
// bench's spaced streaming mock, in a process of their own so they never share an event loop with
// the load generator. Prints one JSON line {mock, stream, pid} when listening; exits when its stdin
// closes (the bench ended, normally or not) or on SIGTERM/SIGINT.
import { startMockUpstream } from '../test/mock-upstream/server';
import { startStreamMock } from './lib/stream-mock';

const chunks = Number(process.env.BENCH_STREAM_CHUNKS ?? '20');
const gapMs = Number(process.env.BENCH_STREAM_GAP_MS ?? '5');

const mock = await startMockUpstream(0);
const stream = await startStreamMock({ chunks, gapMs });
// The project's mock records every request for its tests; a bench sends hundreds of thousands.
const trim = setInterval(() => {
  mock.requests.length = 0;
}, 500);

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  clearInterval(trim);
  await Promise.all([mock.close(), stream.close()]);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
process.stdin.on('end', () => void shutdown());
process.stdin.on('close', () => void shutdown());
process.stdin.resume();

process.stdout.write(`${JSON.stringify({ mock: mock.url, stream: stream.url, pid: process.pid })}\n`);
