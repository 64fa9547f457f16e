export { type Embedded, type EmbeddingTarget, type EmbedOptions, embedTexts, normalize } from './embed';
export { hashEmbed, LOCAL_DIMENSIONS } from './hashing';
export { LOCAL_EMBEDDING_MODEL, resolveEmbeddingTarget } from './resolve';
export { EMBEDDINGS_DIALECT, embeddingsRoutes } from './routes';
