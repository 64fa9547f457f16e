export { canRead, canWrite, chatFor, type ChatRow } from './access';
export { createChat, type NewChat } from './create';
export { chatsRoutes } from './routes';
export { fileRoutes } from './files/routes';
export { history } from './queries';
export { beginTurn, finishTurn, modelSpec, type TurnResult } from './turn';
export { chatView, messageView } from './views';
