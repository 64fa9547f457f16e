export { ChatRoom } from './chat-room';
export { roomRoutes } from './routes';
export { SocketSession } from './socket-session';
export { socketIoRoutes } from './sio-routes';
