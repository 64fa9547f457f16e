export { CATALOGUE, costUsd, findModel } from './catalogue';
export { parseTarget, requireConfigured, targetOf, type Target } from './resolve';
export { modelsRoutes } from './routes';
