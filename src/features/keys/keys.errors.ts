import { defineErrors } from '../../shared/index.js';

/** The keys feature's codes: API keys and developer signing keys. */
export const keysErrors = defineErrors('keys', {
  api_key_not_found: { status: 404, title: 'No such active API key is yours' },
  invalid_expiry: { status: 422, title: 'The expiry is not in the future' },
  expiry_beyond_parent_key: { status: 422, title: 'A key cannot outlive the API key that creates it' },
  invalid_public_key: { status: 422, title: 'The public key is not usable' },
  signing_key_exists: { status: 409, title: 'This public key is already registered' },
  signing_key_not_found: { status: 404, title: 'No such signing key is yours' },
});

export const keysError = keysErrors.error;
