export { PortalMetrics, METRICS_PREFIX, type MetricSources } from './portal-metrics.js';
