export { handleQueue } from './consumer';
export { metricsRoutes } from './metrics-routes';
export { logRealtimeCall, type RealtimeCall, requestLog, type RequestLogMessage } from './middleware';
export { adjustLiveGauge, type LiveGauge } from './live-gauges';
