/**
 * Form parts that show the API's problem+json where it belongs: a field's own message under it
 * (aria-invalid, aria-describedby), the rest above the form (FormError). Pair them with
 * formProblem() (api/problem.ts):
 *
 *   const problem = formProblem(mutation.error, ['email', 'password'], { password_too_common: 'password' });
 *   <FormError problem={problem} />
 *   <Field label="Email" name="email" type="email" error={problem.field('email')} required />
 *   <SubmitButton busy={mutation.isPending}>Create account</SubmitButton>
 */
import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from 'react';
import type { FormProblem } from '../api/problem';

interface FrameProps {
  label: ReactNode;
  hint?: ReactNode;
  error?: string | undefined;
}

/** Label, control, hint and error, wired together by ids; the control comes from `render`. */
function FieldFrame({ label, hint, error, render }: FrameProps & { render: (ids: { id: string; describedBy: string | undefined; invalid: boolean }) => ReactNode }) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [error ? errorId : null, hint ? hintId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={error ? 'field field-invalid' : 'field'}>
      <label htmlFor={id}>{label}</label>
      {render({ id, describedBy, invalid: Boolean(error) })}
      {hint ? (
        <p className="field-hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={errorId}>
          {/* The API says "must be 12 to 256 characters": under its field, as a sentence. */}
          {error.charAt(0).toUpperCase() + error.slice(1)}
        </p>
      ) : null}
    </div>
  );
}

export function Field({ label, hint, error, ...input }: FrameProps & InputHTMLAttributes<HTMLInputElement>) {
  return (
    <FieldFrame
      label={label}
      hint={hint}
      error={error}
      render={({ id, describedBy, invalid }) => <input id={id} aria-describedby={describedBy} aria-invalid={invalid || undefined} {...input} />}
    />
  );
}

export function TextAreaField({ label, hint, error, ...textarea }: FrameProps & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  return (
    <FieldFrame
      label={label}
      hint={hint}
      error={error}
      render={({ id, describedBy, invalid }) => <textarea id={id} aria-describedby={describedBy} aria-invalid={invalid || undefined} {...textarea} />}
    />
  );
}

export function SelectField({ label, hint, error, children, ...select }: FrameProps & SelectHTMLAttributes<HTMLSelectElement>) {
  return (
    <FieldFrame
      label={label}
      hint={hint}
      error={error}
      render={({ id, describedBy, invalid }) => (
        <select id={id} aria-describedby={describedBy} aria-invalid={invalid || undefined} {...select}>
          {children}
        </select>
      )}
    />
  );
}

/** The part of a problem no field shows: its title and detail, and messages for fields the form does not have. */
export function FormError({ problem }: { problem: FormProblem }) {
  const general = problem.general;
  if (!general) return null;
  return (
    <div className="form-error" role="alert" data-code={general.code}>
      <p className="form-error-title">{general.title}</p>
      {/* Many details only repeat the title: said once. */}
      {general.detail && general.detail.replace(/\.$/, '') !== general.title ? <p>{general.detail}</p> : null}
      {general.messages.length > 0 ? (
        <ul>
          {general.messages.map((message) => (
            <li key={message}>{message}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** A form's submit button: disabled and saying so while the request runs, so a double click sends one. */
export function SubmitButton({ busy, children, busyLabel, variant = 'primary', disabled }: { busy: boolean; children: ReactNode; busyLabel?: string; variant?: 'primary' | 'danger' | 'plain'; disabled?: boolean }) {
  return (
    <button type="submit" className={`button button-${variant}`} disabled={busy || disabled} aria-busy={busy || undefined}>
      {busy ? (
        <>
          <span className="spinner spinner-small" aria-hidden="true" />
          {busyLabel ?? 'Working…'}
        </>
      ) : (
        children
      )}
    </button>
  );
}

/** Reads a form's named text inputs: `const { email } = formValues(event, ['email'])`. */
export function formValues<K extends string>(form: HTMLFormElement, names: readonly K[]): Record<K, string> {
  const data = new FormData(form);
  return Object.fromEntries(
    names.map((name) => {
      const value = data.get(name);
      return [name, typeof value === 'string' ? value : ''];
    }),
  ) as Record<K, string>;
}
