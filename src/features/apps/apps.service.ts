import { isUniqueViolation, type Db } from '../../db/index.js';
import { decodeCursor, toPage, type Page } from '../../http/pagination.js';
import { errors, type Actor, type Clock, type Ids } from '../../shared/index.js';
import * as repo from './apps.repository.js';
import type { AppResponse, CreateAppInput } from './apps.schemas.js';
import type { App, AppStatus } from './apps.table.js';

export interface AppsDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
}

const appNotFound = () => errors.notFound('app_not_found', 'No app with this id belongs to you.');

export class AppsService {
  constructor(private readonly deps: AppsDeps) {}

  async create(actor: Actor, input: CreateAppInput): Promise<AppResponse> {
    const now = this.deps.clock.now().toISOString();
    try {
      const app = await repo.insertApp(this.deps.db, {
        id: this.deps.ids.id(),
        owner_id: actor.userId,
        package_id: input.package_id,
        name: input.name,
        summary: input.summary,
        description: input.description,
        category: input.category,
        status: 'draft',
        created_at: now,
        updated_at: now,
      });
      return toAppResponse(app);
    } catch (err) {
      if (isUniqueViolation(err)) throw errors.conflict('package_id_taken', `The package id ${input.package_id} is already registered.`);
      throw err;
    }
  }

  async list(actor: Actor, query: { status?: AppStatus; limit: number; cursor?: string }): Promise<Page<AppResponse>> {
    const before = decodeCursor(query.cursor);
    const rows = await repo.listOwnedApps(this.deps.db, actor.userId, { status: query.status, before, limit: query.limit });
    return toPage(rows, query.limit, (a) => a.id, toAppResponse);
  }

  async get(actor: Actor, appId: string): Promise<AppResponse> {
    return toAppResponse(await this.owned(actor, appId));
  }

  /**
   * The app, if the caller owns it. Someone else's app answers exactly like a missing one, so ids
   * cannot be probed.
   */
  async owned(actor: Actor, appId: string): Promise<App> {
    const app = await repo.findApp(this.deps.db, appId);
    if (!app || app.owner_id !== actor.userId) throw appNotFound();
    return app;
  }
}

export function toAppResponse(app: App): AppResponse {
  return {
    id: app.id,
    package_id: app.package_id,
    name: app.name,
    summary: app.summary,
    description: app.description,
    category: app.category,
    status: app.status,
    created_at: app.created_at,
    updated_at: app.updated_at,
  };
}
