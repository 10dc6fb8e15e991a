export { TelemetryService, ROLLUP_JOB, RETENTION_JOB } from './telemetry.service.js';
export { TelemetryWriter } from './telemetry-writer.js';
export { telemetryRoutes } from './telemetry.routes.js';
export { telemetryErrors } from './telemetry.errors.js';
