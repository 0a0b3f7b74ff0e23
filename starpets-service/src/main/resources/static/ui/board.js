// The task board: one row per task, redrawn only where something changed; a ticker moves the
// elapsed times and the "in 42 s" countdowns between polls.

import { state, subscribe, serverNow, movedFrom } from './live.js';
import { taskState, stateNote } from './states.js';
import { duration, localTime, parseTime, relative } from './format.js';
import { taskButtons, buttonsKey, handleClicks } from './actions.js';
import { create } from './taskform.js';
import { onRoleChange, isOperator } from './session.js';

const STRIP = 20;
const body = document.getElementById('board-body');
const template = document.getElementById('task-row');
const filter = document.getElementById('task-filter');
const rows = new Map(); // name -> { tr, el: { … } }
let firstRows = true;
let firstStrips = true;

export function initBoard() {
  handleClicks(body);
  subscribe(onChange);
  onRoleChange(() => {
    document.getElementById('task-new').hidden = !isOperator();
    for (const [name, row] of rows) drawActions(row, state.tasks.get(name));
  });
  document.getElementById('task-new').addEventListener('click', () => create());
  filter.addEventListener('input', applyFilter);
  setInterval(tick, 1000);
}

/** The board is shown again: its countdowns and elapsed times, which a hidden board does not tick, at once. */
export function showBoard() {
  tick();
}

function onChange(change) {
  if (change.tasks) {
    for (const name of change.removed) {
      rows.get(name)?.tr.remove();
      rows.delete(name);
    }
    let added = false;
    for (const name of change.changed) {
      let row = rows.get(name);
      if (!row) {
        row = newRow(name);
        rows.set(name, row);
        added = true;
      }
      draw(row, state.tasks.get(name));
    }
    if (added) order();
    counts();
    tick();
    if (firstRows) {
      firstRows = false;
      body.closest('table').dataset.ready = 'rows';
      performance.mark('board-rows');
    }
  }
  if (change.summaries) {
    for (const name of change.changed) {
      const row = rows.get(name);
      if (row) drawSummary(row, state.summaries.get(name));
    }
    if (firstStrips) {
      firstStrips = false;
      body.closest('table').dataset.ready = 'strips';
      performance.mark('board-strips');
    }
  }
}

function newRow(name) {
  const tr = template.content.firstElementChild.cloneNode(true);
  tr.dataset.task = name;
  const q = (selector) => tr.querySelector(selector);
  const el = {
    name: q('.task-name'), handler: q('.handler'), source: q('.source'), state: q('.state'), note: q('.note'),
    late: q('.late'),
    instance: q('.instance'), moved: q('.moved'), progress: q('progress'), elapsed: q('.elapsed'),
    next: q('.next'), nextIn: q('.next-in'), words: q('.words'), zone: q('.zone'), strip: q('.strip'),
    actions: q('.actions'),
  };
  el.name.textContent = name;
  el.name.href = `#/task/${encodeURIComponent(name)}`;
  el.name.title = `${name}: definition, runs, audit trail`;
  el.progress.setAttribute('aria-label', `Progress of ${name}`);
  for (let i = 0; i < STRIP; i++) el.strip.append(document.createElement('i'));
  return { tr, el, drawn: {} };
}

function order() {
  const names = [...rows.keys()].sort();
  body.append(...names.map((name) => rows.get(name).tr));
  applyFilter();
}

/** Sets a text (or attribute) only when it differs: 1,000 rows every second stay cheap. */
function set(row, key, node, value) {
  if (row.drawn[key] !== value) {
    row.drawn[key] = value;
    node.textContent = value;
  }
}

function draw(row, task) {
  const { el, tr } = row;
  const s = taskState(task);
  tr.dataset.state = s;
  set(row, 'handler', el.handler, task.handler ? ` ${task.handler}` : '');
  set(row, 'source', el.source, task.source === 'API' ? 'API' : '');
  el.source.title = task.source === 'API' ? 'Created over the API: operators can edit and delete it' : '';
  set(row, 'state', el.state, s);
  el.state.className = `state state-${s.toLowerCase()}`;

  const instance = task.instanceId || '';
  if (row.drawn.instance !== undefined && row.drawn.instance !== instance && instance) {
    // A task that changed hands flashes, so a failover is seen. Two animation names take turns,
    // which restarts the animation without forcing a layout of the whole table.
    const odd = el.instance.classList.contains('flash');
    el.instance.classList.toggle('flash', !odd);
    el.instance.classList.toggle('flash-again', odd);
  }
  set(row, 'instance', el.instance, instance || '—');
  row.drawn.instance = instance;
  tr.dataset.instance = instance;
  const from = movedFrom(task);
  // A quarantined task was not taken over: its run was lost, and it waits for an operator.
  const moved = s === 'QUARANTINED' ? `its run was lost on ${from}` : `recovered from ${from}`;
  set(row, 'moved', el.moved, from ? moved : '');

  const running = !!task.instanceId;
  el.progress.hidden = !running;
  if (!running) {
    // At once, not at the next tick (which skips a hidden board).
    set(row, 'elapsed', el.elapsed, '');
    set(row, 'late', el.late, '');
  }
  tr.toggleAttribute('data-running', running);
  if (running && task.progress != null) {
    el.progress.value = task.progress;
    el.progress.title = `${Math.round(task.progress * 100)} %`;
  } else {
    el.progress.removeAttribute('value');
    el.progress.title = '';
  }

  // A paused task (even one whose run goes on) has no next run until it is resumed.
  const blocked = task.paused ? NO_NEXT.PAUSED : NO_NEXT[s];
  const next = blocked ? null : parseTime(task.nextRunAt);
  set(row, 'next', el.next, next ? localTime(next) : blocked || (running ? 'after this run' : '—'));
  if (next) el.next.setAttribute('datetime', task.nextRunAt);
  else el.next.removeAttribute('datetime');
  el.next.title = next ? next.toString() : '';

  const summary = state.summaries.get(task.name);
  if (runAfterWords(task)) {
    set(row, 'words', el.words, runAfterWords(task));
  } else if (!summary || summary.schedule !== task.schedule) {
    set(row, 'words', el.words, task.schedule);
  }
  set(row, 'zone', el.zone, task.timeZone && task.timeZone !== 'UTC' ? ` (${task.timeZone})` : '');
  el.words.title = task.schedule;
  drawActions(row, task);
}

function drawActions(row, task) {
  if (!task) return;
  // Redrawn only when what decides the buttons changes (role, state, source), keeping keyboard focus.
  const key = buttonsKey(task);
  if (row.drawn.actions === key) return;
  row.drawn.actions = key;
  row.el.actions.replaceChildren(taskButtons(task));
}

/** A task that runs only after another (run-after, no schedule of its own): what it waits for; else null. */
function runAfterWords(task) {
  if (!task?.runAfter || task.schedule !== 'once' || task.at) return null;
  return `after ${task.runAfter.task} (${task.runAfter.when.toLowerCase()})`;
}

/** The next-run cell of a task that will not run by itself. */
const NO_NEXT = {
  PAUSED: 'paused', QUARANTINED: 'not until resumed', DISABLED: 'never (disabled)', COMPLETED: 'never (ran once)',
};

const LABELS = {
  SUCCEEDED: 'succeeded', FAILED: 'failed', TIMED_OUT: 'timed out', INTERRUPTED: 'interrupted',
  LOST: 'lost', CANCELLED: 'cancelled', MISSED: 'missed (did not run)',
};

function drawSummary(row, summary) {
  if (!summary) return;
  const { el } = row;
  set(row, 'words', el.words, runAfterWords(state.tasks.get(summary.name)) || summary.words || summary.schedule);
  el.words.title = summary.schedule;
  const outcomes = summary.outcomes.slice(-STRIP);
  const cells = el.strip.children;
  const offset = STRIP - outcomes.length;
  const tally = {};
  for (let i = 0; i < STRIP; i++) {
    const o = outcomes[i - offset];
    const cell = cells[i];
    if (!o) {
      cell.removeAttribute('data-status');
      cell.title = '';
      continue;
    }
    cell.dataset.status = o.status;
    const finished = parseTime(o.finishedAt);
    cell.title = `Run ${o.id}: ${o.status}, ${duration(o.durationSeconds)}, ended ${localTime(finished)}`;
    tally[o.status] = (tally[o.status] || 0) + 1;
  }
  const words = Object.entries(tally).map(([status, n]) => `${n} ${LABELS[status] || status.toLowerCase()}`);
  el.strip.setAttribute('aria-label', outcomes.length
    ? `Last ${outcomes.length} runs, oldest first: ${words.join(', ')}` : 'No run has ended yet');
}

/** Elapsed times and countdowns, from the database clock as this browser estimates it. */
function tick() {
  if (document.getElementById('view-tasks').hidden) return;
  const now = serverNow();
  for (const [name, row] of rows) {
    const task = state.tasks.get(name);
    if (!task) continue;
    const started = task.startedAt ? Date.parse(task.startedAt) : null;
    const elapsed = task.instanceId && started ? (now - started) / 1000 : null;
    set(row, 'elapsed', row.el.elapsed, elapsed == null ? '' : duration(elapsed));
    const late = elapsed != null && task.timeoutSeconds && elapsed > task.timeoutSeconds;
    set(row, 'late', row.el.late, late && task.state !== 'STUCK' ? ' past its timeout' : '');
    const note = task.paused || task.triggerQueued || !['RUNNING', 'WAITING'].includes(task.state)
      ? stateNote(task, now) : '';
    set(row, 'note', row.el.note, note);
    const next = task.nextRunAt && !task.paused && !NO_NEXT[task.state] ? Date.parse(task.nextRunAt) : null;
    set(row, 'nextIn', row.el.nextIn, next ? ` · ${relative((next - now) / 1000)}` : '');
  }
}

function applyFilter() {
  const words = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  for (const [name, row] of rows) {
    const task = state.tasks.get(name);
    const text = `${name} ${taskState(task)} ${task.instanceId || ''} ${task.handler || ''} ${task.source || ''}`
      .toLowerCase();
    const match = words.every((w) => text.includes(w));
    row.tr.hidden = !match;
    if (match) shown++;
  }
  document.getElementById('board-empty').hidden = shown > 0 || rows.size === 0;
}

function counts() {
  const byState = {};
  for (const task of state.tasks.values()) {
    const s = taskState(task);
    byState[s] = (byState[s] || 0) + 1;
  }
  const parts = Object.entries(byState).sort().map(([s, n]) => `${n} ${s.toLowerCase()}`);
  document.getElementById('task-counts').textContent = `${state.tasks.size} tasks: ${parts.join(', ')}`;
  if (filter.value) applyFilter();
}
