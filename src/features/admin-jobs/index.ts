export { AdminJobsService } from './admin-jobs.service.js';
export { adminJobsRoutes } from './admin-jobs.routes.js';
