/**
 * A webhook's URL and events, for creating one and for changing one. The API's problems sit next
 * to the field they name: `webhook_url_invalid` and `body.url` under the URL, `body.events.<n>`
 * under the events.
 */
import { useId, useState, type FormEvent } from 'react';
import { fieldOf, formProblem, isApiProblem } from '../../api/problem';
import { Field, FormError, SubmitButton, formValues } from '../../components/form';
import { ALL_EVENTS, WEBHOOK_EVENTS, WEBHOOK_EVENT_TYPES, type WebhookEvent, type WebhookEventType } from './webhook-events';

export interface WebhookInput {
  url: string;
  events: WebhookEvent[];
}

const EVENT_FIELDS = ['events', ...WEBHOOK_EVENT_TYPES.map((_, i) => `events.${i}`), `events.${WEBHOOK_EVENT_TYPES.length}`];

export function WebhookForm({
  initial,
  error,
  busy,
  submitLabel,
  busyLabel,
  onSubmit,
  onCancel,
}: {
  initial?: WebhookInput;
  error: unknown;
  busy: boolean;
  submitLabel: string;
  busyLabel: string;
  onSubmit: (input: WebhookInput) => void;
  onCancel?: () => void;
}) {
  const id = useId();
  const initialEvents = initial?.events ?? [ALL_EVENTS];
  const [every, setEvery] = useState(initialEvents.includes(ALL_EVENTS));
  const [chosen, setChosen] = useState<Set<WebhookEventType>>(() => new Set(initialEvents.filter((e): e is WebhookEventType => e !== ALL_EVENTS)));
  const problem = formProblem(error, ['url', ...EVENT_FIELDS], { webhook_url_invalid: 'url' });
  const eventsError = isApiProblem(error) ? error.errors.find((e) => fieldOf(e.path).split('.')[0] === 'events')?.message : undefined;

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const { url } = formValues(event.currentTarget, ['url']);
    onSubmit({ url: url.trim(), events: every ? [ALL_EVENTS] : WEBHOOK_EVENT_TYPES.filter((type) => chosen.has(type)) });
  };
  const toggle = (type: WebhookEventType, on: boolean) =>
    setChosen((current) => {
      const next = new Set(current);
      if (on) next.add(type);
      else next.delete(type);
      return next;
    });

  return (
    <form className="form webhook-form" onSubmit={submit} noValidate>
      <FormError problem={problem} />
      <Field
        label="Payload URL"
        name="url"
        type="url"
        inputMode="url"
        autoComplete="off"
        spellCheck={false}
        required
        defaultValue={initial?.url}
        placeholder="https://ci.example.com/mosis"
        hint="Where the portal POSTs each event, signed. https only (unless the operator allows http), no user:password@, no #fragment."
        error={problem.field('url')}
      />
      <fieldset className={eventsError ? 'field ins-fieldset field-invalid' : 'field ins-fieldset'} aria-describedby={eventsError ? `${id}-events-error` : undefined}>
        <legend>Events</legend>
        <label className="ins-check">
          <input type="radio" name={`${id}-which`} checked={every} onChange={() => setEvery(true)} />
          <span>
            Every event <span className="muted small">(including types a later portal adds)</span>
          </span>
        </label>
        <label className="ins-check">
          <input type="radio" name={`${id}-which`} checked={!every} onChange={() => setEvery(false)} />
          <span>Only the events I choose</span>
        </label>
        {!every ? (
          <ul className="ins-check-list">
            {WEBHOOK_EVENT_TYPES.map((type) => (
              <li key={type}>
                <label className="ins-check">
                  <input type="checkbox" name="events" value={type} checked={chosen.has(type)} onChange={(event) => toggle(type, event.target.checked)} />
                  <span>
                    <code>{type}</code> <span className="muted small">{WEBHOOK_EVENTS[type]}</span>
                  </span>
                </label>
              </li>
            ))}
          </ul>
        ) : null}
        {eventsError ? (
          <p className="field-error" id={`${id}-events-error`}>
            {eventsError.charAt(0).toUpperCase() + eventsError.slice(1)}
          </p>
        ) : null}
      </fieldset>
      <div className="ins-actions">
        <SubmitButton busy={busy} busyLabel={busyLabel}>
          {submitLabel}
        </SubmitButton>
        {onCancel ? (
          <button type="button" className="button" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
        ) : null}
      </div>
    </form>
  );
}
