export { FLIGHT_MEMORY_MS } from './cache-flight';
export type { Routed } from './flight-events';
export { forgetFlights, type FlightDeps } from './flight';
export { completeShared, streamShared } from './shared-calls';
export { CacheFlight } from './cache-flight';
