import { defineErrors } from '../../shared/index.js';

/** The telemetry feature's codes: ingestion back-pressure, analytics and crash groups. */
export const telemetryErrors = defineErrors('telemetry', {
  telemetry_busy: { status: 503, title: 'Telemetry is arriving faster than it can be written' },
  telemetry_unavailable: { status: 503, title: 'Telemetry cannot be written right now' },
  crash_group_not_found: { status: 404, title: 'The app has no such crash group' },
  analytics_range_invalid: { status: 400, title: 'The analytics range is not valid' },
});

export const telemetryError = telemetryErrors.error;
