export { loadConfig, ConfigError } from './config.js';
export type { AccountsConfig, Config, DatabaseConfig, HttpTimeouts, LogLevel, OAuthClientConfig } from './config.js';
export type { TrustProxy } from './trust-proxy.js';
