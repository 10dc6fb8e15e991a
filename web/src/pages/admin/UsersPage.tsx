/**
 * /admin: the portal's users (GET /v1/admin/users) found by part of their email, role and status,
 * a page at a time; changing a user's role, suspending and reactivating them (PATCH
 * /v1/admin/users/{id}), each confirmed. Admin routes need this session to have signed in with a
 * second factor: without it the API answers two_factor_required, which ErrorState explains.
 */
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formProblem } from '../../api/problem';
import type { Role, Schemas } from '../../api/types';
import { ConfirmDialog } from '../../components/Dialog';
import { Field, FormError, SelectField, formValues } from '../../components/form';
import { Page } from '../../components/Page';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { Time } from '../../components/Time';
import { useUser } from '../../session/session';
import { AdminNav } from './AdminNav';
import { Notice } from '../settings/Notice';
import { ScrollTable } from '../../components/ScrollTable';
import { ShowMore } from '../../components/ShowMore';

type AdminUser = Schemas['AdminUser'];
type Status = AdminUser['status'];

export const ADMIN_USERS_KEY = ['/v1/admin/users'] as const;

const ROLES: Record<Role, string> = { developer: 'Developer', reviewer: 'Reviewer', admin: 'Admin' };
const STATUSES: Record<Status, string> = { active: 'Active', suspended: 'Suspended' };

type Change = { user: AdminUser; role: Role } | { user: AdminUser; status: Status };

function isRole(value: string): value is Role {
  return value in ROLES;
}
function isStatus(value: string): value is Status {
  return value in STATUSES;
}

export default function UsersPage() {
  const me = useUser();
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  const email = params.get('email')?.trim() ?? '';
  const role = params.get('role') ?? '';
  const status = params.get('status') ?? '';
  const filter = { ...(email ? { email } : {}), ...(isRole(role) ? { role } : {}), ...(isStatus(status) ? { status } : {}) };
  const [change, setChange] = useState<Change | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const users = useInfiniteQuery({
    queryKey: [...ADMIN_USERS_KEY, { limit: 50, ...filter }],
    queryFn: ({ pageParam, signal }) => unwrap(api.GET('/v1/admin/users', { params: { query: { limit: 50, ...filter, ...(pageParam ? { cursor: pageParam } : {}) } }, signal })),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const update = useMutation({
    mutationFn: (next: Change) =>
      unwrap(api.PATCH('/v1/admin/users/{id}', { params: { path: { id: next.user.id } }, body: 'role' in next ? { role: next.role } : { status: next.status } })),
    onSuccess: (updated, next) => {
      setChange(null);
      setNotice(
        'role' in next
          ? `${updated.email} is now ${ROLES[updated.role].toLowerCase() === 'admin' ? 'an admin' : `a ${ROLES[updated.role].toLowerCase()}`}.`
          : updated.status === 'suspended'
            ? `${updated.email} is suspended: their sessions ended and their API keys stopped.`
            : `${updated.email} is active again. They sign in again; their API keys work again.`,
      );
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: ADMIN_USERS_KEY }),
  });
  const updateProblem = formProblem(update.error, []);
  const items = users.data?.pages.flatMap((page) => page.items) ?? [];
  const filtered = Object.keys(filter).length > 0;

  return (
    <Page title="Users" description="Everyone with an account on this portal.">
      <AdminNav />
      <form
        className="sa-filters"
        role="search"
        aria-label="Find users"
        onSubmit={(event) => {
          event.preventDefault();
          const values = formValues(event.currentTarget, ['email', 'role', 'status']);
          const next = new URLSearchParams();
          for (const [name, value] of Object.entries(values)) if (value.trim()) next.set(name, value.trim());
          setParams(next);
        }}
      >
        <Field label="Email contains" name="email" type="search" defaultValue={email} key={`email-${email}`} />
        <SelectField label="Role" name="role" defaultValue={role} key={`role-${role}`}>
          <option value="">Any role</option>
          {Object.entries(ROLES).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </SelectField>
        <SelectField label="Status" name="status" defaultValue={status} key={`status-${status}`}>
          <option value="">Any status</option>
          {Object.entries(STATUSES).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </SelectField>
        <div className="sa-filters-actions">
          <button type="submit" className="button button-primary">
            Search
          </button>
          {filtered ? (
            <button type="button" className="button" onClick={() => setParams(new URLSearchParams())}>
              Clear
            </button>
          ) : null}
        </div>
      </form>

      <Notice message={notice} />

      {users.isPending ? (
        <Loading label="Loading users" />
      ) : users.isError ? (
        <ErrorState error={users.error} onRetry={() => void users.refetch()} />
      ) : items.length === 0 ? (
        <EmptyState title={filtered ? 'No user matches' : 'No users yet'} action={filtered ? <button type="button" className="button" onClick={() => setParams(new URLSearchParams())}>Show everyone</button> : undefined}>
          {filtered ? <p>Try part of the address, or another role or status.</p> : null}
        </EmptyState>
      ) : (
        <>
          <ScrollTable label="Users">
            <table className="table">
              <caption className="visually-hidden">Users</caption>
              <thead>
                <tr>
                  <th scope="col">User</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Two-factor</th>
                  <th scope="col">Joined</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((user) => {
                  const self = user.id === me.id;
                  return (
                    <tr key={user.id}>
                      <td>
                        <strong>{user.name}</strong> {self ? <span className="badge badge-info">You</span> : null}
                        <div className="small">
                          {user.email} {user.email_verified ? null : <span className="badge badge-warning">Not verified</span>}
                        </div>
                      </td>
                      <td>
                        <select
                          className="sa-select-inline"
                          aria-label={`Role of ${user.email}`}
                          value={user.role}
                          disabled={self}
                          title={self ? 'Admins cannot change their own role; ask another admin.' : undefined}
                          onChange={(event) => {
                            const next = event.currentTarget.value;
                            if (isRole(next) && next !== user.role) {
                              update.reset();
                              setChange({ user, role: next });
                            }
                          }}
                        >
                          {Object.entries(ROLES).map(([value, label]) => (
                            <option key={value} value={value}>
                              {label}
                            </option>
                          ))}
                        </select>
                      </td>
                      <td>
                        <span className={user.status === 'active' ? 'badge badge-success' : 'badge badge-danger'}>{STATUSES[user.status]}</span>
                      </td>
                      <td>{user.totp_enabled ? <span className="badge badge-success">On</span> : <span className="badge badge-neutral">Off</span>}</td>
                      <td>
                        <Time value={user.created_at} />
                      </td>
                      <td className="sa-actions-cell">
                        <Link className="button button-small" to={`/admin/audit?${new URLSearchParams({ actor_id: user.id, actor: user.email }).toString()}`} aria-label={`Audit log of ${user.email}`}>
                          Audit log
                        </Link>{' '}
                        {self ? null : user.status === 'active' ? (
                          <button
                            type="button"
                            className="button button-small button-danger"
                            aria-label={`Suspend ${user.email}`}
                            onClick={() => {
                              update.reset();
                              setChange({ user, status: 'suspended' });
                            }}
                          >
                            Suspend
                          </button>
                        ) : (
                          <button
                            type="button"
                            className="button button-small"
                            aria-label={`Reactivate ${user.email}`}
                            onClick={() => {
                              update.reset();
                              setChange({ user, status: 'active' });
                            }}
                          >
                            Reactivate
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </ScrollTable>
          <ShowMore query={users} label="Show more users" />
        </>
      )}

      <ConfirmDialog
        open={change !== null}
        title={change === null ? '' : 'role' in change ? `Make ${change.user.email} ${change.role === 'admin' ? 'an admin' : `a ${change.role}`}?` : change.status === 'suspended' ? `Suspend ${change.user.email}?` : `Reactivate ${change.user.email}?`}
        confirmLabel={change === null ? 'Confirm' : 'role' in change ? 'Change role' : change.status === 'suspended' ? 'Suspend' : 'Reactivate'}
        danger={change !== null && 'status' in change && change.status === 'suspended'}
        busy={update.isPending}
        onConfirm={() => change && update.mutate(change)}
        onClose={() => setChange(null)}
      >
        {change === null ? null : 'role' in change ? (
          <p>
            {change.role === 'developer'
              ? 'They keep their apps and lose the review and admin pages.'
              : `They get the ${change.role === 'admin' ? 'admin and review' : 'review'} pages, once they have turned on two-factor authentication and signed in with it.`}
          </p>
        ) : change.status === 'suspended' ? (
          <p>They are signed out everywhere at once, and their access tokens and API keys stop working. You can reactivate them later.</p>
        ) : (
          <p>They can sign in again, and their API keys work again. Sessions ended by the suspension stay ended.</p>
        )}
        <FormError problem={updateProblem} />
      </ConfirmDialog>
    </Page>
  );
}
