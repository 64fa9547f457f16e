// Light, dark, or the system's choice; remembered per browser. The page follows prefers-color-scheme
// until the person picks one.
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

type Theme = 'system' | 'light' | 'dark';
const KEY = 'edgeway.theme';

function apply(theme: Theme): void {
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

export function initTheme(): void {
  apply((localStorage.getItem(KEY) as Theme | null) ?? 'system');
}

export function ThemeSwitch(): JSX.Element {
  const [theme, setTheme] = useState<Theme>((localStorage.getItem(KEY) as Theme | null) ?? 'system');
  useEffect(() => {
    apply(theme);
    localStorage.setItem(KEY, theme);
  }, [theme]);
  return (
    <label class="theme">
      <span class="visually-hidden">Theme</span>
      <select value={theme} onChange={(e) => setTheme((e.currentTarget as HTMLSelectElement).value as Theme)}>
        <option value="system">System theme</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}
