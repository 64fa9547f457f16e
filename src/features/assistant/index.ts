export { assistantRoutes } from './routes';
