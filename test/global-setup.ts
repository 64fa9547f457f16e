import type { TestProject } from 'vitest/node';
import { startMockUpstream } from './mock-upstream/server';

declare module 'vitest' {
  export interface ProvidedContext {
    mockUpstreamUrl: string;
  }
}

// One mock upstream for the whole run, on a free loopback port; stopped when the run ends.
export default async function setup(project: TestProject) {
  const mock = await startMockUpstream();
  project.provide('mockUpstreamUrl', mock.url);
  return async () => {
    await mock.close();
  };
}
