export { orchestrationRoutes } from './routes';
export { OrchestrationWorkflow } from './workflow';
