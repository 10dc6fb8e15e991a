import { defineErrors } from '../shared/index.js';

/** What the web UI's pages (src/http/web-app.ts) answer besides the common codes. */
export const webAppErrors = defineErrors('web', {
  web_ui_not_built: { status: 503, title: 'The web UI is not built' },
});
