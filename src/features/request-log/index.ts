export { handleQueue } from './consumer';
export { metricsRoutes } from './metrics-routes';
export { requestLog, type RequestLogMessage } from './middleware';
