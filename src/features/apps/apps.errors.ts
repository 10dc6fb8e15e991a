import { defineErrors } from '../../shared/index.js';

/** The apps feature's codes: the registry, listings, icons and screenshots. */
export const appsErrors = defineErrors('apps', {
  app_not_found: { status: 404, title: 'No such app is yours' },
  package_id_taken: { status: 409, title: 'The package id is already registered' },
  app_has_published_versions: { status: 409, title: 'An app with a published or yanked version cannot be deleted' },
  listing_not_found: { status: 404, title: 'The app has no listing for this locale' },
  listing_limit_reached: { status: 409, title: 'The app has the most localized listings it may have' },
  icon_not_found: { status: 404, title: 'The app has no icon' },
  screenshot_not_found: { status: 404, title: 'No such screenshot belongs to this app' },
  screenshot_limit_reached: { status: 409, title: 'The app has the most screenshots it may have' },
  media_not_found: { status: 404, title: 'No image has this address' },
  image_missing: { status: 400, title: 'The request carries no image' },
  image_unsupported_type: { status: 422, title: 'The image is not a PNG, JPEG or WebP' },
  image_dimensions: { status: 422, title: 'The image has the wrong size' },
  image_invalid: { status: 422, title: 'The image cannot be decoded' },
});

export const appsError = appsErrors.error;

/** What a route on one of the caller's apps may answer (apps.owned): another app, or none of theirs. */
export const OWN_APP = ['api_key_app_restricted', 'app_not_found'] as const;
