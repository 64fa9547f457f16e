export { findVisibleTemplate, type TemplateRow, type TemplateWithCreator } from './queries';
export { templateRoutes } from './routes';
export { type TemplateData, TemplateDataSchema } from './views';
