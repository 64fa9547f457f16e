import type { ErrorDetail } from './errors';

interface IssueLike {
  path: ReadonlyArray<PropertyKey>;
  message: string;
}

// One entry per field (the first problem found for it), so clients can map errors to form fields.
export function issuesToDetails(issues: ReadonlyArray<IssueLike>): ErrorDetail[] {
  const byField = new Map<string, string>();
  for (const issue of issues) {
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : 'body';
    if (!byField.has(field)) byField.set(field, issue.message);
  }
  return [...byField].map(([field, message]) => ({ field, message }));
}
