/**
 * A page's address parameters (filters, ranges, the chosen version), and changes to them that
 * start from the address as it is when they are made. react-router's setSearchParams hands its
 * callback the parameters of the last render: two changes before React renders again (a range
 * chosen, then a version a moment later) lost the first.
 */
import { useCallback } from 'react';
import { useSearchParams, type NavigateOptions } from 'react-router';

export function useUrlParams() {
  const [params, setParams] = useSearchParams();
  const update = useCallback(
    (make: (current: URLSearchParams) => URLSearchParams, options?: NavigateOptions) => setParams(make(new URLSearchParams(window.location.search)), options),
    [setParams],
  );
  /** Sets each named parameter, or removes it when its value is empty; keeps the others. */
  const change = useCallback(
    (changes: Record<string, string | undefined>, options?: NavigateOptions) =>
      update((next) => {
        for (const [name, value] of Object.entries(changes)) {
          if (value) next.set(name, value);
          else next.delete(name);
        }
        return next;
      }, options),
    [update],
  );
  return { params, setParams, update, change };
}
