export { consumeQuota } from './queries';
export { organizationRoutes } from './routes';
