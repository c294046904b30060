import type { CheckResult } from './check-history.js';
export function renderHtmlReport(result: CheckResult): string {
  return JSON.stringify(result);
}
