export { canRead, canWrite, chatFor, type ChatRow } from './access';
export { createChat, type NewChat } from './create';
export { chatsRoutes } from './routes';
export { fileRoutes } from './files/routes';
export { history } from './queries';
export { type ChatSearchHit, SEARCH_MAX_RESULTS, searchChats, type SearchCaller } from './search';
export { beginTurn, finishTurn, modelSpec, type TurnResult } from './turn';
export { chatView, messageView } from './views';
// The assistant (src/features/assistant) reads media the same way: streamed multipart, types sniffed from bytes.
export { boundaryOf, MultipartReader, type Part } from './files/multipart';
export { essence, sniffBinary } from './files/sniff';
export { type FileRow } from './files/queries';
export { INLINE_FILE_CHARS, MAX_IMAGE_BYTES, MAX_IMAGES_PER_MESSAGE } from './turn';
