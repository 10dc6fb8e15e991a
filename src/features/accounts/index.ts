export { AccessTokens } from './access-tokens.js';
export { AccountsService } from './accounts.service.js';
export { accountsRoutes } from './accounts.routes.js';
export { tokenAuthenticator } from './authenticator.js';
