import { setTheme, useTheme, type ThemeChoice } from './theme';

const CHOICES: { value: ThemeChoice; label: string }[] = [
  { value: 'system', label: 'System' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

/** A labelled select: the simplest control every keyboard and screen reader already knows. */
export function ThemeToggle() {
  const theme = useTheme();
  return (
    <label className="theme-toggle">
      <span>Theme</span>
      <select value={theme} onChange={(event) => setTheme(event.target.value as ThemeChoice)}>
        {CHOICES.map((choice) => (
          <option key={choice.value} value={choice.value}>
            {choice.label}
          </option>
        ))}
      </select>
    </label>
  );
}
