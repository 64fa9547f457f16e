export { docsRoutes } from './routes';
