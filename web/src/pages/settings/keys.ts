/** Query keys of the settings pages (the API path first, as everywhere): invalidated after writes. */
export const TWO_FACTOR_KEY = ['/v1/auth/2fa'] as const;
export const SESSIONS_KEY = ['/v1/auth/sessions'] as const;
export const API_KEYS_KEY = ['/v1/keys'] as const;
export const SIGNING_KEYS_KEY = ['/v1/signing-keys'] as const;
