export { SigningKeysService } from './signing-keys.service.js';
export { signingKeysRoutes } from './signing-keys.routes.js';
