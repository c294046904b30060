import type { CheckResult, KeyResult } from './check-history.js';
import type { HistoryOp } from './history.js';
import { applyKvOp, describeState, type KvState } from './kv-register.js';
import { formatOpCall, formatTime, formatViolation, plural, type Violation } from './violation.js';

/**
 * A self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched) describing a check result: a
 * summary per key, and for each key that is not linearizable a timeline of the operations around the failure —
 * one lane per client, a bar from call to return (an unknown outcome runs off the right edge), the operation that
 * could not be linearized in red, the operations overlapping it outlined, each linearized operation numbered by
 * its place in the longest linearization found — then the end of that linearization with the state after each
 * step, and the text report.
 */
export function renderHtmlReport(result: CheckResult): string {
  const rows = result.keys.map(summaryRow).join('\n');
  const sections = result.keys
    .filter((k) => k.verdict !== 'linearizable')
    .map(keySection)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Linearizability report: ${escapeHtml(result.verdict)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d1d1f; }
h1 .verdict, td.verdict { font-weight: 600; }
.linearizable { color: #1a7f37; } .not-linearizable { color: #cf222e; } .unknown { color: #9a6700; }
table { border-collapse: collapse; margin: 12px 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
pre { background: #f6f8fa; padding: 12px; overflow-x: auto; font-size: 12px; }
section { margin-top: 32px; }
svg { border: 1px solid #d0d7de; background: #fff; }
svg text { font: 11px ui-monospace, monospace; }
.legend span { display: inline-block; margin-right: 16px; }
.swatch { display: inline-block; width: 14px; height: 10px; margin-right: 4px; vertical-align: middle; }
</style>
</head>
<body>
<h1>Linearizability: <span class="verdict ${escapeHtml(result.verdict)}">${escapeHtml(result.verdict)}</span></h1>
<p>${plural(result.ops, 'operation')} on ${plural(result.keys.length, 'key')}, checked in ${Math.round(result.elapsedMs)} ms.
Each key is an independent register, so the history is linearizable exactly when every key is.</p>
<table>
<tr><th>key</th><th>verdict</th><th>operations</th><th>left out</th><th>configurations</th><th>ms</th><th>note</th></tr>
${rows}
</table>
${sections}
</body>
</html>
`;
}

function summaryRow(k: KeyResult): string {
  const note =
    k.verdict === 'unknown'
      ? k.unknownReason === 'time-budget'
        ? 'time budget exhausted: raise it to decide'
        : 'configuration limit reached: raise it to decide'
      : k.verdict === 'not-linearizable'
        ? `fails at op ${escapeHtml(JSON.stringify(k.violation?.failedOp.id))}`
        : '';
  return (
    `<tr><td>${escapeHtml(k.key)}</td><td class="verdict ${k.verdict}">${k.verdict}</td><td>${k.ops}</td>` +
    `<td>${k.droppedOps}</td><td>${k.configurations}</td><td>${Math.round(k.elapsedMs)}</td><td>${note}</td></tr>`
  );
}

function keySection(k: KeyResult): string {
  const title = `<h2>Key ${escapeHtml(JSON.stringify(k.key))}: <span class="${k.verdict}">${k.verdict}</span></h2>`;
  if (k.violation === undefined) {
    return `<section>${title}<p>The search gave up (${escapeHtml(k.unknownReason ?? '')}) after ${k.configurations} configurations: this key is neither proven linearizable nor proven not to be.</p></section>`;
  }
  const v = k.violation;
  return `<section>
${title}
<p>No order of the operations explains op ${escapeHtml(JSON.stringify(v.failedOp.id))}:
${escapeHtml(formatOpCall(v.failedOp))}. Below: the operations around it, the end of the longest linearization
the search found, and the full text report.</p>
${v.note === undefined ? '' : `<p><strong>${escapeHtml(v.note)}</strong></p>`}
${legend()}
${timeline(v)}
<h3>End of the longest linearization found (${v.linearization.length} operations)</h3>
${linearizationTail(v)}
<h3>Text report</h3>
<pre>${escapeHtml(formatViolation(v))}</pre>
</section>`;
}

const COLORS = {
  failed: '#cf222e',
  linearized: '#8fd19e',
  pending: '#d0d7de',
  windowStroke: '#bc4c00',
};

function legend(): string {
  const item = (color: string, label: string, border = color): string =>
    `<span><i class="swatch" style="background:${color};border:2px solid ${border}"></i>${label}</span>`;
  return `<p class="legend">${item(COLORS.failed, 'could not be linearized')}${item(COLORS.linearized, 'linearized (#k = its place)')}${item(COLORS.pending, 'not linearized')}${item('#fff', 'overlaps the failing operation', COLORS.windowStroke)}<span>dashed, running off the right edge: outcome unknown</span></p>`;
}

const LANE_HEIGHT = 22;
const LABEL_WIDTH = 110;
const PLOT_WIDTH = 1000;

function timeline(v: Violation): string {
  const ops = v.context;
  const position = new Map(v.linearization.map((op, i) => [op, i + 1]));
  const inWindow = new Set(v.window);
  // The axis spans the failing operation and what overlaps it, widened by half (operations reaching further
  // are cut at the edges).
  const known = v.window.filter((op) => op.return !== null);
  const windowStart = Math.min(...known.map((op) => op.call));
  const windowEnd = Math.max(...known.map((op) => op.return!));
  const t0 = windowStart - (windowEnd - windowStart) / 2;
  const t1 = Math.max(windowEnd, t0 + 1e-3);
  const pad = (t1 - t0) * 0.03;
  const right = LABEL_WIDTH + PLOT_WIDTH;
  const x = (t: number): number =>
    Math.min(right, Math.max(LABEL_WIDTH, LABEL_WIDTH + ((t - t0 + pad) / (t1 - t0 + 2 * pad)) * PLOT_WIDTH));

  // One lane per client; overlapping operations of one client (after a timeout) get extra rows in its lane.
  const clients = [...new Set(ops.map((op) => String(op.clientId)))].sort();
  const rows: { client: string; ops: HistoryOp[]; ends: number[] }[] = [];
  const rowOf = new Map<HistoryOp, number>();
  for (const client of clients) {
    const first = rows.length;
    for (const op of ops.filter((o) => String(o.clientId) === client)) {
      let row = first;
      while (row < rows.length && rows[row]!.ends.at(-1)! >= op.call) row++;
      if (row === rows.length) rows.push({ client, ops: [], ends: [] });
      rows[row]!.ops.push(op);
      rows[row]!.ends.push(op.return ?? Number.POSITIVE_INFINITY);
      rowOf.set(op, row);
    }
  }
  const height = rows.length * LANE_HEIGHT + 30;
  const parts: string[] = [];
  rows.forEach((row, r) => {
    const y = 20 + r * LANE_HEIGHT;
    const firstOfLane = r === 0 || rows[r - 1]!.client !== row.client;
    if (firstOfLane) {
      parts.push(`<text x="4" y="${y + 14}">client ${escapeHtml(truncate(row.client, 12))}</text>`);
      parts.push(`<line x1="0" x2="${right}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    }
  });
  for (const op of ops) {
    const y = 20 + rowOf.get(op)! * LANE_HEIGHT + 3;
    const x1 = x(op.call);
    const x2 = op.return === null ? right : Math.max(x(op.return), x1 + 2);
    const failed = op === v.failedOp;
    const linearizedAt = position.get(op);
    const fill = failed ? COLORS.failed : linearizedAt !== undefined ? COLORS.linearized : COLORS.pending;
    const stroke = inWindow.has(op) && !failed ? COLORS.windowStroke : '#57606a';
    const dash = op.return === null ? ' stroke-dasharray="4 3" fill-opacity="0.5"' : '';
    const label = `${linearizedAt !== undefined ? `#${linearizedAt} ` : ''}${formatOpCall(op)}`;
    const tooltip = `op ${JSON.stringify(op.id)} (client ${JSON.stringify(op.clientId)}): ${formatOpCall(op)} [${formatTime(op.call)} → ${formatTime(op.return)}]${linearizedAt !== undefined ? `, linearized as #${linearizedAt}` : ''}`;
    parts.push(
      `<g><title>${escapeHtml(tooltip)}</title><rect x="${x1.toFixed(1)}" y="${y}" width="${(x2 - x1).toFixed(1)}" height="${LANE_HEIGHT - 6}" rx="3" fill="${fill}" stroke="${stroke}" stroke-width="${inWindow.has(op) ? 2 : 1}"${dash}/>` +
        `<text x="${(x1 + 3).toFixed(1)}" y="${y + 12}">${escapeHtml(truncate(label, Math.max(0, Math.floor((x2 - x1 - 4) / 6.6))))}</text></g>`,
    );
  }
  parts.push(`<text x="${LABEL_WIDTH}" y="12">t = ${escapeHtml(formatTime(t0))} ms</text>`);
  parts.push(`<text x="${right - 120}" y="12">t = ${escapeHtml(formatTime(t1))} ms</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${right + 10}" height="${height}" role="img" aria-label="timeline of the operations around the failure">\n${parts.join('\n')}\n</svg>`;
}

/** How many steps of the longest linearization the report lists. */
const TAIL_STEPS = 20;

function linearizationTail(v: Violation): string {
  // Replay from the start to know the state after each of the last steps.
  let state: KvState = v.initialState;
  const states: KvState[] = [];
  for (const op of v.linearization) {
    const stepped = applyKvOp(state, op);
    state = stepped.legal ? stepped.next : state;
    states.push(state);
  }
  const first = Math.max(0, v.linearization.length - TAIL_STEPS);
  const rows = v.linearization
    .slice(first)
    .map(
      (op, i) =>
        `<tr><td>#${first + i + 1}</td><td>${escapeHtml(JSON.stringify(op.id))}</td><td>${escapeHtml(String(op.clientId))}</td>` +
        `<td>${escapeHtml(formatOpCall(op))}</td><td>${escapeHtml(formatTime(op.call))} → ${escapeHtml(formatTime(op.return))}</td>` +
        `<td>${escapeHtml(describeState(states[first + i]!))}</td></tr>`,
    )
    .join('\n');
  return `<table><tr><th>step</th><th>op</th><th>client</th><th>operation → answer</th><th>call → return (ms)</th><th>key after</th></tr>
${rows}
<tr><td></td><td colspan="5">then: ${escapeHtml(`op ${JSON.stringify(v.failedOp.id)} could not be linearized; the key is ${describeState(v.stateAfter)}`)}</td></tr>
</table>`;
}

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return max <= 1 ? '' : `${text.slice(0, max - 1)}…`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
