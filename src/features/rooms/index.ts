export { ChatRoom } from './chat-room';
export { roomRoutes } from './routes';
