export { AI, AI_READ, PUBLIC, atLeast, caller, protect } from './access';
export { apiKeyRoutes } from './api-key-routes';
export { authRoutes } from './auth-routes';
export { identify, knownIdentity, type Identity } from './identity';
export { clientIp } from './login-limit';
export { oauthRoutes } from './oauth/routes';
export { declareSecurity } from './openapi-security';
export { assertEveryRouteDeclaresAccess } from './route-access';
export { findUserByEmail } from './users';
