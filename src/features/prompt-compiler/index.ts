export { promptCompilerRoutes } from './routes';
