import type { Config } from './config';
import type { ApiError } from './lib/errors';
import type { Logger } from './lib/log';
import type { CallSlot } from './lib/call-slot';

export type Bindings = Env;

export interface Variables {
  requestId: string;
  config: Config;
  log: Logger;
  startedAt: number;
  aiCall: CallSlot;
  // The error code of the answer, when it is an error (for the request log).
  errorCode?: string;
  // The error body of the surface or dialect that answers this request; the platform envelope when unset.
  errorBody?: (err: ApiError, requestId: string) => unknown;
}

export interface AppEnv {
  Bindings: Bindings;
  Variables: Variables;
}
