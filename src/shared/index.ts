export { AccessDenied, AppError, errors } from './errors.js';
export type { FieldError } from './errors.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { systemIds } from './ids.js';
export type { Ids } from './ids.js';
export { sha256Hex, safeEqual } from './crypto.js';
export { API_KEY_SCOPES, SECOND_FACTOR_METHODS, appRestriction, assertMayActOnApp, assertNotAppRestricted, usedSecondFactor } from './actor.js';
export type { Actor, AuthMethod, Role, Scope } from './actor.js';
