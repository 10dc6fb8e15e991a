import { defineErrors } from '../../shared/index.js';

/** The versions feature's codes: uploads and the version lifecycle. */
export const versionsErrors = defineErrors('versions', {
  version_not_found: { status: 404, title: 'No such version belongs to this app' },
  package_missing: { status: 400, title: 'The request carries no package' },
  package_invalid: { status: 422, title: 'The package failed a blocking check' },
  version_exists: { status: 409, title: 'This exact package was already uploaded' },
  uploads_in_progress: { status: 429, title: 'Too many of your uploads are still being received or checked' },
  checks_busy: { status: 503, title: 'Too many packages are waiting to be checked' },
  version_not_approved: { status: 409, title: 'Only an approved version can be published' },
  version_not_published: { status: 409, title: 'The version is not published' },
  version_not_live: { status: 409, title: 'The version is not live: yanked, superseded or not published' },
  version_older_than_live: { status: 409, title: 'A newer version is already live on this channel' },
});

export const versionsError = versionsErrors.error;
