/**
 * Two-factor authentication: its state (GET /v1/auth/2fa), enrolment (setup → a QR code of the
 * otpauth URI drawn here, and the secret as text → confirm with a code and the password → the
 * recovery codes, once), new recovery codes, and turning it off. Each change asks for the
 * password, as the API does, unless the account has none (a provider sign-in).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { api, unwrap } from '../../api/client';
import { formProblem } from '../../api/problem';
import type { Schemas } from '../../api/types';
import { CopyButton } from '../../components/CopyButton';
import { Dialog } from '../../components/Dialog';
import { Field, FormError, SubmitButton, formValues } from '../../components/form';
import { ErrorState, Loading } from '../../components/states';
import { Time } from '../../components/Time';
import { SESSION_KEY, useUser } from '../../session/session';
import { SESSIONS_KEY, TWO_FACTOR_KEY } from './keys';
import { QrCode } from './QrCode';
import { RecoveryCodes } from './RecoveryCodes';
import { Notice } from './Notice';

type TwoFactorStatus = Schemas['TwoFactorStatus'];
type TotpSetup = Schemas['TotpSetup'];

interface Reauth {
  code: string;
  password?: string;
}

/** The code and, when the account has one, the password, from a form: as the 2FA routes take them. */
function reauthOf(form: HTMLFormElement, withPassword: boolean): Reauth {
  const { code, password } = formValues(form, ['code', 'password']);
  return { code: code.replace(/\s+/g, ''), ...(withPassword ? { password } : {}) };
}

// Wrong codes and passwords name no field in the API's answer: they go under the field they are about.
const REAUTH_FIELDS = { invalid_totp_code: 'code', invalid_credentials: 'password', password_required: 'password' };

/** A secret in groups of four, as authenticator apps show them: easier to type without a slip. */
function grouped(secret: string): string {
  return secret.replace(/(.{4})/g, '$1 ').trim();
}

export function TwoFactorPanel() {
  const status = useQuery({ queryKey: TWO_FACTOR_KEY, queryFn: ({ signal }) => unwrap(api.GET('/v1/auth/2fa', { signal })) });
  if (status.isPending) return <Loading label="Loading two-factor authentication" />;
  if (status.isError) return <ErrorState error={status.error} onRetry={() => void status.refetch()} />;
  return <TwoFactorState status={status.data} />;
}

function TwoFactorState({ status }: { status: TwoFactorStatus }) {
  const user = useUser();
  const queryClient = useQueryClient();
  const [setup, setSetup] = useState<TotpSetup | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [dialog, setDialog] = useState<'regenerate' | 'disable' | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  // The header, the guards and the sessions list all change with it.
  const changed = async () => {
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: TWO_FACTOR_KEY }),
      queryClient.invalidateQueries({ queryKey: SESSION_KEY }),
      queryClient.invalidateQueries({ queryKey: SESSIONS_KEY }),
    ]);
  };

  const start = useMutation({
    mutationFn: () => unwrap(api.POST('/v1/auth/2fa/setup')),
    onSuccess: (answer) => {
      setNotice(null);
      setSetup(answer);
    },
    onError: () => void changed(),
  });

  if (codes) {
    return (
      <RecoveryCodes
        codes={codes}
        email={user.email}
        onDone={() => {
          setCodes(null);
          setNotice(status.enabled ? 'Your new recovery codes are the only ones that work now.' : null);
        }}
      />
    );
  }

  if (setup && !status.enabled) {
    return (
      <Enrolment
        setup={setup}
        passwordRequired={status.password_required}
        onCancel={() => setSetup(null)}
        onEnabled={(recoveryCodes) => {
          setSetup(null);
          setCodes(recoveryCodes);
          setNotice('Two-factor authentication is on. Other sessions of your account were signed out.');
          void changed();
        }}
      />
    );
  }

  const startProblem = formProblem(start.error, []);
  return (
    <div className="stack">
      <Notice message={notice} />
      {status.enabled ? (
        <>
          <p>
            <span className="badge badge-success">On</span> since <Time value={status.enabled_at} absolute />. Signing in asks for a code from your authenticator app.
          </p>
          <p className={status.recovery_codes_remaining <= 3 ? 'field-error' : 'muted'}>
            {status.recovery_codes_remaining === 1 ? '1 recovery code left.' : `${status.recovery_codes_remaining} recovery codes left.`}
            {status.recovery_codes_remaining <= 3 ? ' Get new ones before you run out.' : ''}
          </p>
          <div className="sa-buttons">
            <button type="button" className="button" onClick={() => setDialog('regenerate')}>
              Get new recovery codes
            </button>
            <button type="button" className="button button-danger" onClick={() => setDialog('disable')}>
              Turn off two-factor authentication
            </button>
          </div>
          <ReauthDialog
            open={dialog === 'regenerate'}
            title="New recovery codes"
            submitLabel="Get new codes"
            passwordRequired={status.password_required}
            call={(body) => unwrap(api.POST('/v1/auth/2fa/recovery-codes', { body }))}
            onClose={() => setDialog(null)}
            onDone={(answer) => {
              setDialog(null);
              setCodes(answer.recovery_codes);
              void queryClient.invalidateQueries({ queryKey: TWO_FACTOR_KEY });
            }}
          >
            <p>Your current recovery codes stop working, and you get ten new ones.</p>
          </ReauthDialog>
          <ReauthDialog
            open={dialog === 'disable'}
            title="Turn off two-factor authentication?"
            submitLabel="Turn it off"
            danger
            passwordRequired={status.password_required}
            call={(body) => unwrap(api.POST('/v1/auth/2fa/disable', { body }))}
            onClose={() => setDialog(null)}
            onDone={() => {
              setDialog(null);
              setNotice('Two-factor authentication is off. Other sessions of your account were signed out.');
              void changed();
            }}
          >
            <p>Anyone with your password could then sign in. Your recovery codes stop working, and every other session of your account is signed out.</p>
            {user.role !== 'developer' ? <p className="field-error">As {user.role === 'admin' ? 'an admin' : 'a reviewer'}, you cannot use the {user.role} pages without it.</p> : null}
          </ReauthDialog>
        </>
      ) : (
        <>
          <p>
            <span className="badge badge-neutral">Off</span> Add a code from an authenticator app (such as Aegis, Google Authenticator, 1Password or Authy) to your password, so a stolen password alone
            cannot sign in.
            {user.role !== 'developer' ? ' Reviewers and admins need it to use their pages.' : ''}
          </p>
          <FormError problem={startProblem} />
          <p>
            <button type="button" className="button button-primary" onClick={() => start.mutate()} disabled={start.isPending} aria-busy={start.isPending || undefined}>
              {start.isPending ? 'Starting…' : 'Set up two-factor authentication'}
            </button>
          </p>
        </>
      )}
    </div>
  );
}

/** Step 1 and 2 of enrolment: scan (or type) the secret, then confirm with a code and the password. */
function Enrolment({ setup, passwordRequired, onCancel, onEnabled }: { setup: TotpSetup; passwordRequired: boolean; onCancel: () => void; onEnabled: (codes: string[]) => void }) {
  const secretId = useId();
  const enable = useMutation({
    mutationFn: (body: Reauth) => unwrap(api.POST('/v1/auth/2fa/enable', { body })),
    onSuccess: (answer) => onEnabled(answer.recovery_codes),
  });
  const problem = formProblem(enable.error, ['code', 'password'], REAUTH_FIELDS);
  return (
    <div className="sa-enrolment stack">
      <ol className="sa-steps">
        <li>
          <h3>Scan this code with your authenticator app</h3>
          <div className="sa-enrolment-scan">
            <QrCode value={setup.otpauth_url} label="QR code to add your Mosis Portal account to an authenticator app" />
            <div className="stack">
              <p>Can't scan it? Add an account by hand in the app and type this key (time-based, 6 digits, 30 seconds):</p>
              <p className="sa-secret">
                <code id={secretId} data-secret={setup.secret}>
                  {grouped(setup.secret)}
                </code>{' '}
                <CopyButton value={setup.secret} label="Copy the key" targetId={secretId} />
              </p>
            </div>
          </div>
        </li>
        <li>
          <h3>Enter the code the app shows</h3>
          <form
            className="form"
            noValidate
            onSubmit={(event: FormEvent<HTMLFormElement>) => {
              event.preventDefault();
              enable.mutate(reauthOf(event.currentTarget, passwordRequired));
            }}
          >
            <FormError problem={problem} />
            <Field label="Code from the app" name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9 ]*" maxLength={8} required error={problem.field('code')} />
            {passwordRequired ? (
              <Field label="Your password" name="password" type="password" autoComplete="current-password" required hint="To confirm it is you." error={problem.field('password')} />
            ) : (
              <p className="muted">Your account signs in with a provider: if you signed in more than 10 minutes ago, sign in again first.</p>
            )}
            <div className="sa-buttons">
              <SubmitButton busy={enable.isPending} busyLabel="Turning on…">
                Turn on two-factor authentication
              </SubmitButton>
              <button type="button" className="button" onClick={onCancel} disabled={enable.isPending}>
                Cancel
              </button>
            </div>
          </form>
        </li>
      </ol>
    </div>
  );
}

/** A dialog asking for a current code (or a recovery code) and the password before a 2FA change. */
function ReauthDialog<T>({
  open,
  title,
  submitLabel,
  danger = false,
  passwordRequired,
  call,
  onClose,
  onDone,
  children,
}: {
  open: boolean;
  title: string;
  submitLabel: string;
  danger?: boolean;
  passwordRequired: boolean;
  call: (body: Reauth) => Promise<T>;
  onClose: () => void;
  onDone: (answer: T) => void;
  children: ReactNode;
}) {
  const change = useMutation({ mutationFn: call, onSuccess: onDone });
  const problem = formProblem(change.error, ['code', 'password'], REAUTH_FIELDS);
  const close = () => {
    if (change.isPending) return;
    change.reset();
    onClose();
  };
  return (
    <Dialog open={open} title={title} onClose={close}>
      {children}
      {/* Mounted only while open: a closed and reopened dialog starts with empty fields. */}
      {open ? (
      <form
        className="form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          change.mutate(reauthOf(event.currentTarget, passwordRequired));
        }}
      >
        <FormError problem={problem} />
        <Field label="Code from your authenticator app" name="code" autoComplete="one-time-code" required hint="Or one of your recovery codes." error={problem.field('code')} />
        {passwordRequired ? <Field label="Your password" name="password" type="password" autoComplete="current-password" required error={problem.field('password')} /> : null}
        <div className="dialog-footer">
          <button type="button" className="button" onClick={close} disabled={change.isPending}>
            Cancel
          </button>
          <SubmitButton busy={change.isPending} variant={danger ? 'danger' : 'primary'}>
            {submitLabel}
          </SubmitButton>
        </div>
      </form>
      ) : null}
    </Dialog>
  );
}
