export { loadConfig, ConfigError } from './config.js';
export type { AccountsConfig, Config, DatabaseConfig, HttpTimeouts, LogLevel, OAuthClientConfig, StorageConfig } from './config.js';
export type { TrustProxy } from './trust-proxy.js';
