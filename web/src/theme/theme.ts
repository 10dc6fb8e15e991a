/**
 * Light, dark or the system's choice (the default). The choice is kept in localStorage and shown
 * as `data-theme` on <html>; styles.css holds both palettes as CSS custom properties and, without
 * an explicit choice, follows prefers-color-scheme by itself, so nothing flashes before this runs.
 */
import { useSyncExternalStore } from 'react';

export type ThemeChoice = 'light' | 'dark' | 'system';

const STORAGE_KEY = 'mosis-theme';
const listeners = new Set<() => void>();

function read(): ThemeChoice {
  try {
    const stored = window.localStorage.getItem(STORAGE_KEY);
    return stored === 'light' || stored === 'dark' ? stored : 'system';
  } catch {
    // Storage refused (a privacy setting): the system's choice.
    return 'system';
  }
}

/** Puts the stored choice on <html>; main.tsx calls it before the first render. */
export function applyTheme(choice: ThemeChoice = read()): void {
  const root = document.documentElement;
  if (choice === 'system') delete root.dataset['theme'];
  else root.dataset['theme'] = choice;
}

export function setTheme(choice: ThemeChoice): void {
  try {
    if (choice === 'system') window.localStorage.removeItem(STORAGE_KEY);
    else window.localStorage.setItem(STORAGE_KEY, choice);
  } catch {
    // Not kept across visits, but applied now.
  }
  applyTheme(choice);
  for (const listener of listeners) listener();
}

export function useTheme(): ThemeChoice {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      // Another tab changed it.
      const onStorage = (event: StorageEvent) => {
        if (event.key === STORAGE_KEY) {
          applyTheme();
          listener();
        }
      };
      window.addEventListener('storage', onStorage);
      return () => {
        listeners.delete(listener);
        window.removeEventListener('storage', onStorage);
      };
    },
    read,
  );
}
