/**
 * The form for a new API key (POST /v1/keys): a name, its scopes (each explained), an optional
 * expiry date and, optionally, the apps it is limited to. The API's field errors sit under the
 * fields; the answer (with the key, once) goes to `onCreated`.
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { api, unwrap } from '../../api/client';
import { ApiProblem, formProblem } from '../../api/problem';
import type { Schemas } from '../../api/types';
import { Field, FormError, SubmitButton, formValues } from '../../components/form';
import { SCOPE_ORDER, SCOPES, type Scope } from './scopes';

type CreatedApiKey = Schemas['CreatedApiKey'];
interface NewKey {
  name: string;
  scopes: Scope[];
  expires_at?: string;
  app_ids?: string[];
}

/** `body.scopes.2` and `body.app_ids.0` are about the whole list: shown under it. */
function listFieldsOf(error: unknown): unknown {
  if (!(error instanceof ApiProblem)) return error;
  const errors = error.errors.map((e) => ({ ...e, path: e.path.replace(/^(body\.(?:scopes|app_ids))\.\d+$/, '$1') }));
  return new ApiProblem({ status: error.status, title: error.title, detail: error.detail, code: error.code, errors, requestId: error.requestId });
}

/** The end of the chosen day where the developer is: "expires on the 31st" means through the 31st. */
function endOfDay(date: string): string {
  return new Date(`${date}T23:59:59`).toISOString();
}

function today(): string {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
}

export function CreateApiKeyForm({ onCreated, onCancel }: { onCreated: (key: CreatedApiKey) => void; onCancel: () => void }) {
  const [restricted, setRestricted] = useState(false);
  const scopesHint = useId();
  const scopesError = useId();
  const appsError = useId();
  const apps = useQuery({
    queryKey: ['/v1/apps', { limit: 100 }],
    queryFn: ({ signal }) => unwrap(api.GET('/v1/apps', { params: { query: { limit: 100 } }, signal })),
  });
  const create = useMutation({ mutationFn: (body: NewKey) => unwrap(api.POST('/v1/keys', { body })), onSuccess: onCreated });
  const problem = formProblem(listFieldsOf(create.error), ['name', 'scopes', 'expires_at', 'app_ids'], { invalid_expiry: 'expires_at', expiry_beyond_parent_key: 'expires_at' });
  const appItems = apps.data?.items ?? [];

  return (
    <form
      className="form"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        const data = new FormData(event.currentTarget);
        const { name, expires_on: expires } = formValues(event.currentTarget, ['name', 'expires_on']);
        const all = (field: string) => data.getAll(field).filter((value): value is string => typeof value === 'string');
        const appIds = all('app_ids');
        create.mutate({
          name,
          scopes: all('scopes') as Scope[],
          ...(expires ? { expires_at: endOfDay(expires) } : {}),
          // "Only these apps" with none ticked sends an empty list: the API says why that is refused.
          ...(restricted ? { app_ids: appIds } : {}),
        });
      }}
    >
      <FormError problem={problem} />
      <Field label="Name" name="name" required maxLength={100} autoFocus hint="Where you use it, such as “GitHub Actions release job”." error={problem.field('name')} />

      <fieldset className={problem.field('scopes') ? 'sa-fieldset field-invalid' : 'sa-fieldset'} aria-describedby={[problem.field('scopes') ? scopesError : null, scopesHint].filter(Boolean).join(' ')}>
        <legend>Scopes</legend>
        <p className="field-hint" id={scopesHint}>
          What the key may do. Give it only what its job needs. A key never reaches your account, two-factor or admin pages.
        </p>
        {problem.field('scopes') ? (
          <p className="field-error" id={scopesError}>
            {problem.field('scopes')}
          </p>
        ) : null}
        <ul className="sa-choices">
          {SCOPE_ORDER.map((scope) => (
            <li key={scope}>
              <label className="sa-choice">
                <input type="checkbox" name="scopes" value={scope} aria-describedby={`scope-${scope.replace(':', '-')}`} />
                <span>
                  <strong>{SCOPES[scope].label}</strong> <code>{scope}</code>
                  <span className="sa-choice-hint" id={`scope-${scope.replace(':', '-')}`}>
                    {SCOPES[scope].explanation}
                  </span>
                </span>
              </label>
            </li>
          ))}
        </ul>
      </fieldset>

      <Field
        label="Expires on (optional)"
        name="expires_on"
        type="date"
        min={today()}
        hint="The key stops working at the end of this day. Leave empty for a key that does not expire; revoke it when you no longer need it."
        error={problem.field('expires_at')}
      />

      <fieldset className={problem.field('app_ids') ? 'sa-fieldset field-invalid' : 'sa-fieldset'} aria-describedby={problem.field('app_ids') ? appsError : undefined}>
        <legend>Apps</legend>
        {problem.field('app_ids') ? (
          <p className="field-error" id={appsError}>
            {problem.field('app_ids')}
          </p>
        ) : null}
        <ul className="sa-choices">
          <li>
            <label className="sa-choice">
              <input type="radio" name="restriction" checked={!restricted} onChange={() => setRestricted(false)} />
              <span>All my apps, now and later</span>
            </label>
          </li>
          <li>
            <label className="sa-choice">
              <input type="radio" name="restriction" checked={restricted} onChange={() => setRestricted(true)} disabled={appItems.length === 0} />
              <span>
                Only the apps I choose
                <span className="sa-choice-hint">{appItems.length === 0 ? (apps.isPending ? 'Loading your apps…' : 'You have no apps yet.') : 'It cannot see or change any other app, nor your account.'}</span>
              </span>
            </label>
          </li>
        </ul>
        {restricted ? (
          <ul className="sa-choices sa-choices-nested" aria-label="Apps the key may use">
            {appItems.map((app) => (
              <li key={app.id}>
                <label className="sa-choice">
                  <input type="checkbox" name="app_ids" value={app.id} />
                  <span>
                    {app.name} <code>{app.package_id}</code>
                  </span>
                </label>
              </li>
            ))}
          </ul>
        ) : null}
      </fieldset>

      <div className="sa-buttons">
        <SubmitButton busy={create.isPending} busyLabel="Creating…">
          Create key
        </SubmitButton>
        <button type="button" className="button" onClick={onCancel} disabled={create.isPending}>
          Cancel
        </button>
      </div>
    </form>
  );
}
