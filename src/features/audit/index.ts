export { AuditLog, type AuditEvent } from './audit.service.js';
export { auditRoutes } from './audit.routes.js';
export { auditAccessDenials } from './access-denials.js';
export type { AuditAction } from './audit.schemas.js';
