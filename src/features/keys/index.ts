export { SigningKeysService } from './signing-keys.service.js';
export { signingKeysRoutes } from './signing-keys.routes.js';
export { ApiKeysService, isApiKey, type ApiKeyGrant } from './api-keys.service.js';
export { apiKeysRoutes } from './api-keys.routes.js';
export { revokeOwnerApiKeys } from './api-keys.repository.js';
export { revokeOwnerSigningKeys } from './signing-keys.repository.js';
