export { loadConfig, ConfigError } from './config.js';
export type { AccountsConfig, Config, DatabaseConfig, LogLevel, OAuthClientConfig } from './config.js';
