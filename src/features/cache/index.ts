export {
  cachePolicy,
  lookup,
  promptOf,
  store,
  type CacheDeps,
  type CacheLookup,
  type CachePolicy,
  type CacheStatus,
} from './cache';
export { cacheRoutes } from './routes';
export { CacheIndex } from './cache-index';
export { SemanticIndex } from './semantic-index';
