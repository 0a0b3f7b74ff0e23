// A run as a table row, the same on the runs page and on a task's page: its status in words, why
// it ran, where, when, for how long, its attempt, and its error, output, result and trace id when it has them.

import { duration, localTime, parseTime } from './format.js';
import { runButtons } from './actions.js';
import { serverNow } from './live.js';
import { isOperator } from './session.js';

const CAUSES = {
  SCHEDULE: 'schedule', RETRY: 'retry', TRIGGER: 'triggered', RECOVERY: 'recovered', CATCH_UP: 'catch-up',
  MANUAL: 'one-off', UPSTREAM: 'after upstream',
};

export function text(tag, value, className) {
  const element = document.createElement(tag);
  element.textContent = value;
  if (className) element.className = className;
  return element;
}

function cell(label, ...children) {
  const td = document.createElement('td');
  td.dataset.label = label;
  td.append(...children);
  return td;
}

function details(summary, content, className) {
  const d = document.createElement('details');
  d.className = className;
  d.append(text('summary', summary), text('pre', content));
  return d;
}

/** A result object as short "key: value" lines; anything else as JSON. */
function resultText(result) {
  if (typeof result === 'string') return result;
  if (result && typeof result === 'object' && !Array.isArray(result)) {
    return Object.entries(result)
      .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('\n');
  }
  return JSON.stringify(result, null, 2);
}

/** The error, output, result, progress and trace id of a run. */
function info(run) {
  const box = document.createElement('div');
  box.className = 'run-info';
  if (run.error) {
    box.append(run.error.length > 120 || run.error.includes('\n')
      ? details(`${run.error.split('\n')[0].slice(0, 120)}…`, run.error, 'error')
      : text('span', run.error, 'error'));
  }
  if (run.output != null && run.output !== '') {
    box.append(details('Output', String(run.output), 'output'));
  }
  if (run.result != null && !(typeof run.result === 'object' && Object.keys(run.result).length === 0)) {
    box.append(details('Result', resultText(run.result), 'result'));
  }
  if (run.status === 'RUNNING' && run.progress != null) {
    const p = document.createElement('progress');
    p.max = 1;
    p.value = run.progress;
    p.setAttribute('aria-label', `Progress of run ${run.id}`);
    box.append(p);
  }
  if (run.traceId) {
    // The run's trace (tracing on: docs/observability.md): its id, to look up in Tempo or Jaeger.
    const trace = text('span', 'Trace ', 'trace');
    trace.append(text('code', run.traceId));
    trace.title = 'OpenTelemetry trace id of this run';
    box.append(trace);
  }
  return box;
}

/**
 * One row; {@code withTask}: a column linking to the task (the runs page). {@code open}: the ids
 * of runs whose details the reader had opened, kept open across a refresh.
 */
export function runRow(run, { withTask = true, open = new Set() } = {}) {
  const tr = document.createElement('tr');
  tr.dataset.run = run.id;
  tr.dataset.task = run.task;
  tr.dataset.status = run.status;
  // A pending one-off run has not started: its time is the one it waits for.
  const pending = run.status === 'PENDING';
  const when = pending ? run.scheduledFor : run.startedAt;
  const started = parseTime(when);
  const time = text('time', pending ? `due ${localTime(started)}` : localTime(started));
  time.setAttribute('datetime', when);
  time.title = started ? started.toString() : '';
  const secs = pending ? null : run.status === 'RUNNING' && !run.finishedAt
    ? (serverNow() - started.getTime()) / 1000 : run.durationSeconds;
  const cells = [cell('Run', text('span', String(run.id)))];
  if (withTask) {
    const link = text('a', run.task);
    link.href = `#/task/${encodeURIComponent(run.task)}`;
    cells.push(cell('Task', link));
  }
  const body = info(run);
  for (const d of body.querySelectorAll('details')) {
    const key = `${run.id}:${d.className}`;
    d.open = open.has(key);
    d.addEventListener('toggle', () => (d.open ? open.add(key) : open.delete(key)));
  }
  cells.push(
    cell('Status', text('span', run.status, `state state-${run.status.toLowerCase()}`)),
    cell('Cause', text('span', (CAUSES[run.cause] || (run.cause || '').toLowerCase())
      + (run.upstreamRunId != null ? ` run ${run.upstreamRunId}` : ''))),
    cell('Instance', text('span', run.instanceId)),
    cell('Started', time),
    cell('Duration', text('span', duration(secs))),
    cell('Attempt', text('span', String(run.attempt))),
    cell('Error, output, result', body),
    cell('Actions', runButtons(run)),
  );
  tr.append(...cells);
  tr.lastElementChild.className = 'actions';
  return tr;
}

/** What each drawn row shows: its run as JSON, and whether it was drawn for an operator. */
const drawnAs = new WeakMap();

/**
 * Shows {@code runs} in {@code body}, keeping the row of every run that has not changed (so that
 * an open output stays open, focus stays where it is, and nothing flickers on a refresh).
 */
export function syncRuns(body, runs, options) {
  const kept = new Map([...body.children].map((tr) => [tr.dataset.run, tr]));
  const operator = isOperator();
  const rows = runs.map((run) => {
    const key = `${operator}:${JSON.stringify(run)}`;
    const old = kept.get(String(run.id));
    if (old && drawnAs.get(old) === key) return old;
    const tr = runRow(run, options);
    drawnAs.set(tr, key);
    return tr;
  });
  if (rows.length !== body.children.length || rows.some((tr, i) => body.children[i] !== tr)) {
    body.replaceChildren(...rows);
  }
}
