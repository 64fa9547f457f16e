import { expect } from 'vitest';

// workerd reports internal promises of a fetch body that breaks mid-read (connection cut, request
// aborted) as unhandled rejections, although the reader gets the error and the provider maps it.
// Vitest stands aside while a test has its own listener: this one lets those through and fails on
// anything else.
const nodeProcess = (
  globalThis as unknown as {
    process: {
      on(event: 'unhandledRejection', listener: (reason: unknown) => void): void;
      off(event: 'unhandledRejection', listener: (reason: unknown) => void): void;
    };
  }
).process;
export async function breakingConnections(run: () => Promise<void>): Promise<void> {
  const unexpected: unknown[] = [];
  const listener = (reason: unknown) => {
    const benign =
      reason instanceof Error && (reason.name === 'AbortError' || reason.message === 'Network connection lost.');
    if (!benign) unexpected.push(reason);
  };
  nodeProcess.on('unhandledRejection', listener);
  try {
    await run();
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    nodeProcess.off('unhandledRejection', listener);
  }
  expect(unexpected).toEqual([]);
}
