export { loadConfig, ConfigError } from './config.js';
export type { Config, DatabaseConfig, LogLevel } from './config.js';
