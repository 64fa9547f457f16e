import type { Config } from './config';
import type { Logger } from './lib/log';

export type Bindings = Env;

export interface Variables {
  requestId: string;
  config: Config;
  log: Logger;
  startedAt: number;
}

export interface AppEnv {
  Bindings: Bindings;
  Variables: Variables;
}
