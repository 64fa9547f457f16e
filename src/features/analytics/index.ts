export { analyticsRoutes } from './routes';
export { handleScheduled, pruneRequestLog } from './cleanup';
