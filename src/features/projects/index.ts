export { findProject, type ProjectRow, type ProjectWithCreator } from './queries';
export { projectRoutes } from './routes';
export { type ProjectView, projectView } from './views';
