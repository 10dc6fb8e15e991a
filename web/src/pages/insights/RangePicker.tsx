/**
 * The analytics date range: presets as a radio group (arrow keys move between them) and a custom
 * range of two dates. A preset applies at once; a custom range when its form is sent, after the
 * checks the API would make (the API's own refusal is shown next to the fields as well).
 */
import { useId, useState, type FormEvent } from 'react';
import type { ApiProblem } from '../../api/problem';
import { Field, formValues } from '../../components/form';
import { PRESETS, customRangeProblem, isoDate, type Preset, type RangeChoice } from './analytics-range';

/** `now`: the page's idea of the present (epoch ms), so the picker and the query agree on what "today" is. */
export function RangePicker({ choice, now, onChange, apiProblem }: { choice: RangeChoice; now: number; onChange: (choice: RangeChoice) => void; apiProblem: ApiProblem | null }) {
  const name = useId();
  const [custom, setCustom] = useState(choice.kind === 'custom');
  const [problem, setProblem] = useState<{ field: 'from' | 'to'; message: string } | null>(null);
  const today = isoDate(now);
  const defaults = choice.kind === 'custom' ? choice : { from: isoDate(now - 13 * 86_400_000), to: today };

  const pickPreset = (preset: Preset) => {
    setCustom(false);
    setProblem(null);
    onChange({ kind: 'preset', preset });
  };

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const { from, to } = formValues(event.currentTarget, ['from', 'to']);
    const found = customRangeProblem(from, to);
    setProblem(found);
    if (!found) onChange({ kind: 'custom', from, to });
  };

  // The API's refusal of a range (analytics_range_invalid) belongs to the range's fields.
  const apiMessage = apiProblem && (apiProblem.code === 'analytics_range_invalid' || apiProblem.code === 'validation_failed') ? apiProblem.detail : undefined;
  const fromError = problem?.field === 'from' ? problem.message : (apiProblem?.fieldMessage('from') ?? undefined);
  const toError = problem?.field === 'to' ? problem.message : (apiProblem?.fieldMessage('to') ?? (custom && !problem ? apiMessage : undefined));

  return (
    <div className="range-picker">
      <fieldset className="ins-segmented">
        <legend>Date range</legend>
        {PRESETS.map((preset) => (
          <label key={preset.id}>
            <input type="radio" name={name} value={preset.id} checked={!custom && choice.kind === 'preset' && choice.preset === preset.id} onChange={() => pickPreset(preset.id)} />
            <span>{preset.label}</span>
          </label>
        ))}
        <label>
          <input type="radio" name={name} value="custom" checked={custom} onChange={() => setCustom(true)} />
          <span>Custom</span>
        </label>
      </fieldset>
      {custom ? (
        <form className="range-custom" onSubmit={submit} noValidate aria-label="Custom date range">
          <Field label="First day" name="from" type="date" max={today} defaultValue={defaults.from} error={fromError} />
          <Field label="Last day" name="to" type="date" max={today} defaultValue={defaults.to} error={toError} hint="Days in UTC, both included." />
          <button type="submit" className="button">
            Show
          </button>
        </form>
      ) : null}
    </div>
  );
}
