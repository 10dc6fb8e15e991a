/**
 * /device: where a person approves a sign-in that `mosis login` (or another client of the device
 * grant, RFC 8628) started. The terminal prints this address and a code, or the address with the
 * code (?user_code=…), which opens straight on the request: who asks, for which permissions, from
 * which address, until when. Approve hands the client a new API key of the person's (listed under
 * Settings → API keys, where it is revoked); Deny tells it no. Under RequireSignIn: signing in
 * first comes back here with the code.
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { formProblem, isApiProblem } from '../../api/problem';
import { Field, FormError, SubmitButton, formValues } from '../../components/form';
import { Page } from '../../components/Page';
import { ErrorState, Loading } from '../../components/states';
import { Time } from '../../components/Time';
import { useUrlParams } from '../../components/useUrlParams';
import { useUser } from '../../session/session';
import { SCOPES } from '../settings/scopes';

type Decision = 'approve' | 'deny';

const isNotFound = (error: unknown) => isApiProblem(error) && error.code === 'device_code_not_found';

/** Refusals of the code itself (none waiting with it, or not code-shaped): the person types it again. */
const isCodeRefused = (error: unknown) => isNotFound(error) || (isApiProblem(error) && error.code === 'validation_failed');

/** What was typed, as the terminal shows it (`bcdf ghjk` → `BCDF-GHJK`), so the address reads the same; anything else goes as typed, for the API to refuse. */
function tidyUserCode(typed: string): string {
  const letters = typed.toUpperCase().replace(/[\s-]/g, '');
  return letters.length === 8 ? `${letters.slice(0, 4)}-${letters.slice(4)}` : letters;
}

export default function DevicePage() {
  const { params } = useUrlParams();
  const userCode = params.get('user_code')?.trim() ?? '';
  // One sign-in per code: a decision made for one code is not shown for the next.
  return <DeviceSignIn key={userCode} userCode={userCode} />;
}

function DeviceSignIn({ userCode }: { userCode: string }) {
  const { change } = useUrlParams();
  const user = useUser();
  const request = useQuery({
    queryKey: ['/v1/auth/device', userCode],
    queryFn: ({ signal }) => unwrap(api.GET('/v1/auth/device', { params: { query: { user_code: userCode } }, signal })),
    enabled: userCode !== '',
    // A code is decided once: coming back to it later must ask the portal again, not show it waiting.
    gcTime: 0,
  });
  const decide = useMutation({
    mutationFn: ({ decision, code }: { decision: Decision; code: string }) =>
      decision === 'approve' ? unwrap(api.POST('/v1/auth/device/approve', { body: { user_code: code } })) : unwrap(api.POST('/v1/auth/device/deny', { body: { user_code: code } })),
  });

  const lookUp = (typed: string) => {
    if (typed !== userCode) {
      change({ user_code: typed });
    } else {
      // The same code again: the address stays, the portal is asked again (the refusal shows until it answers).
      void request.refetch().then(() => decide.reset());
    }
  };

  if (decide.isSuccess) {
    const client = decide.data.client_name;
    return decide.variables.decision === 'approve' ? (
      <Page title="Sign-in approved" narrow>
        <div className="card" role="status">
          <p>
            <strong>Signed in.</strong> You can close this tab and return to your terminal.
          </p>
          <p>
            <strong>{client}</strong> receives an API key of yours with the permissions you approved. It is listed as “{client}” under{' '}
            <Link to="/settings/api-keys">Settings → API keys</Link>, where revoking it signs that terminal out.
          </p>
        </div>
      </Page>
    ) : (
      <Page title="Sign-in denied" narrow>
        <div className="card" role="status">
          <p>
            <strong>Denied.</strong> The terminal will be told the sign-in was refused.
          </p>
          <p className="muted">Nothing of your account was handed to {client}.</p>
        </div>
      </Page>
    );
  }

  // Expired, used or mistyped, whether found out on looking it up or on deciding: the code is asked for again.
  const refused = isNotFound(decide.error) ? decide.error : request.isError && isCodeRefused(request.error) ? request.error : null;
  if (userCode === '' || refused) {
    return (
      <Page title="Approve a sign-in" narrow description={<>Signing in with <code>mosis login</code> or another tool? It shows a code: enter it here to see what it asks for.</>}>
        <CodeForm code={userCode} error={refused} busy={request.isFetching} onSubmit={lookUp} />
      </Page>
    );
  }
  if (request.isPending) {
    return (
      <Page title="Approve a sign-in" narrow>
        <Loading label="Looking up the code" />
      </Page>
    );
  }
  if (request.isError) {
    return (
      <Page title="Approve a sign-in" narrow>
        <ErrorState error={request.error} onRetry={() => void request.refetch()} />
      </Page>
    );
  }

  const device = request.data;
  const problem = formProblem(decide.error, []);
  const deciding = (decision: Decision) => decide.isPending && decide.variables.decision === decision;
  return (
    <Page title="Approve this sign-in?" narrow>
      <form
        className="form card device-request"
        onSubmit={(event) => {
          event.preventDefault();
          decide.mutate({ decision: 'approve', code: device.user_code });
        }}
      >
        <p>
          A client that calls itself <strong>{device.client_name}</strong> asks to act as you ({user.name ? `${user.name}, ` : ''}
          {user.email}) with these permissions:
        </p>
        <ul className="device-scopes" aria-label="Permissions asked for">
          {device.scopes.map((scope) => (
            <li key={scope}>
              {SCOPES[scope].plain} <code>{scope}</code>
            </li>
          ))}
        </ul>
        <dl className="sa-facts">
          <dt>Code</dt>
          <dd>
            <code className="device-code">{device.user_code}</code>
          </dd>
          <dt>Requested from</dt>
          <dd>{device.requested_from ?? 'an unknown address'}</dd>
          <dt>Code expires</dt>
          <dd>
            <Time value={device.expires_at} />
          </dd>
        </dl>
        {device.from_your_address ? null : (
          <div className="banner" role="note" data-code="device_request_elsewhere">
            <p>
              <strong>This sign-in was started from another address than yours</strong> ({device.requested_from ?? 'unknown'}). That is expected when you ran <code>mosis login</code> on another
              machine just now; otherwise someone may be trying to get you to approve their code: deny it.
            </p>
          </div>
        )}
        <div className="banner" role="note">
          <p>
            <strong>Only approve if you started this sign-in yourself</strong> (for example with <code>mosis login</code>) and the code matches your terminal.
          </p>
        </div>
        <FormError problem={problem} />
        <div className="sa-buttons">
          <SubmitButton busy={deciding('approve')} busyLabel="Approving…" disabled={decide.isPending}>
            Approve
          </SubmitButton>
          <button type="button" className="button" disabled={decide.isPending} aria-busy={deciding('deny') || undefined} onClick={() => decide.mutate({ decision: 'deny', code: device.user_code })}>
            {deciding('deny') ? 'Denying…' : 'Deny'}
          </button>
        </div>
      </form>
    </Page>
  );
}

function CodeForm({ code, error, busy, onSubmit }: { code: string; error: unknown; busy: boolean; onSubmit: (code: string) => void }) {
  const [empty, setEmpty] = useState(false);
  const problem = formProblem(error, ['user_code']);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const typed = tidyUserCode(formValues(event.currentTarget, ['user_code']).user_code);
    setEmpty(typed === '');
    if (typed !== '') onSubmit(typed);
  };
  return (
    <form className="form card" onSubmit={submit} noValidate>
      {isNotFound(error) ? (
        <div className="form-error" role="alert" data-code="device_code_not_found">
          <p className="form-error-title">No sign-in is waiting for {code}</p>
          <p>
            A code works for 10 minutes and only once: this one has expired, been used already, or been mistyped. Check it against your terminal, or run <code>mosis login</code> again
            for a new code.
          </p>
        </div>
      ) : (
        <FormError problem={problem} />
      )}
      <Field
        label="Enter the code shown in your terminal"
        name="user_code"
        defaultValue={code}
        className="device-code-input"
        autoComplete="off"
        autoCapitalize="characters"
        spellCheck={false}
        maxLength={12}
        required
        autoFocus
        hint="Eight letters, such as BCDF-GHJK, with or without the dash."
        error={empty ? 'Enter the code first.' : problem.field('user_code')}
      />
      <SubmitButton busy={busy} busyLabel="Looking it up…">
        Continue
      </SubmitButton>
    </form>
  );
}
