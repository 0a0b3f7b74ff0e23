// One task's page (#/task/<name>): its state and why, what runs now, its definition, its last runs
// with their output and result, and its audit trail (GET /tasks/{name}/events), each paged back
// on demand. The task itself comes from the board's poll; runs and events refresh every 3 s, and
// at once when the task changes, while nobody has paged back.

import { get, enc, ApiError } from './api.js';
import { state, subscribe, serverNow } from './live.js';
import { taskState, stateNote } from './states.js';
import { taskButtons, buttonsKey, handleClicks } from './actions.js';
import { onRoleChange } from './session.js';
import { syncRuns, text } from './runrows.js';
import { describeEvent } from './events.js';
import { loadBackfills, clearBackfills } from './backfills.js';
import { loadNotifications } from './notifications.js';
import { duration, localTime, parseTime, relative } from './format.js';

const RUNS = 20;
const EVENTS = 20;
const REFRESH_MS = 3000;

const view = document.getElementById('view-task');
const el = {
  title: document.getElementById('task-title'),
  state: document.getElementById('task-state'),
  source: document.getElementById('task-source'),
  actions: document.getElementById('task-actions'),
  note: document.getElementById('task-note'),
  missing: document.getElementById('task-missing'),
  now: document.getElementById('task-now'),
  definition: document.getElementById('task-definition'),
  runs: document.getElementById('task-runs-body'),
  runsEmpty: document.getElementById('task-runs-empty'),
  runsMore: document.getElementById('task-runs-more'),
  events: document.getElementById('task-events'),
  eventsEmpty: document.getElementById('task-events-empty'),
  eventsMore: document.getElementById('task-events-more'),
};
const open = new Set();
let name = null;
let generation = 0;
let timer = null;
let runs = { list: [], exhausted: true, paged: false };
let events = { list: [], exhausted: true, paged: false };
let drawn = {};
let seenKey = null;
/** The lists wait for the first poll: only then is it known whether the task still exists. */
let listsWaiting = false;

export function initTask() {
  handleClicks(el.actions, {
    beforeDelete: () => {
      clearTimeout(timer);
      generation++;
    },
    afterDelete: (gone) => {
      if (gone) location.hash = '#/tasks';
      else refreshLists();
    },
  });
  handleClicks(el.runs);
  // Paging back stops the refresh of that list, so that what the reader is looking at stays put.
  el.runsMore.addEventListener('click', () => loadRuns(false).catch(() => {}));
  el.eventsMore.addEventListener('click', () => loadEvents(false).catch(() => {}));
  subscribe((change) => {
    if (!name) return;
    if (change.tasks && (change.changed.has(name) || change.removed.includes(name) || !drawn.polled)) draw();
    if (change.tasks && listsWaiting) {
      listsWaiting = false;
      refreshLists();
    }
    if (change.summaries && change.changed.has(name)) draw();
  });
  onRoleChange(() => {
    if (!name) return;
    drawn.buttons = null;
    draw();
    drawRuns();
  });
  setInterval(() => name && tick(), 1000);
}

export function showTask(taskName) {
  if (name === taskName) return;
  name = taskName;
  runs = { list: [], exhausted: true, paged: false };
  events = { list: [], exhausted: true, paged: false };
  drawn = {};
  seenKey = null;
  el.runs.replaceChildren();
  el.events.replaceChildren();
  clearBackfills();
  draw();
  listsWaiting = !state.polls;
  if (!listsWaiting) refreshLists();
}

export function hideTask() {
  name = null;
  listsWaiting = false;
  clearTimeout(timer);
  generation++;
}

/** The task as the last poll saw it; undefined before the first poll, null once it is gone. */
function current() {
  if (!state.polls) return undefined;
  return state.tasks.get(name) || null;
}

function draw() {
  const task = current();
  el.title.textContent = name;
  drawn.polled = task !== undefined;
  const gone = task === null;
  el.missing.hidden = !gone;
  el.missing.textContent = gone
    ? `There is no task named “${name}” now. Its audit trail, if it had one, is below.` : '';
  for (const id of ['task-panels', 'task-runs-panel']) document.getElementById(id).hidden = !task;
  if (!task) {
    el.state.hidden = true;
    el.source.textContent = '';
    el.note.textContent = '';
    el.actions.replaceChildren();
    drawn.buttons = null;
    return;
  }
  const s = taskState(task);
  el.state.hidden = false;
  el.state.textContent = s;
  el.state.className = `state state-${s.toLowerCase()}`;
  el.source.textContent = task.source === 'API' ? 'created over the API' : 'from the configuration';
  el.source.dataset.source = task.source || '';
  el.actions.dataset.task = task.name;
  el.actions.dataset.version = task.version;
  const key = buttonsKey(task);
  if (drawn.buttons !== key) {
    drawn.buttons = key;
    el.actions.replaceChildren(taskButtons(task, { withDelete: true }));
  }
  drawDefinition(task);
  tick();
  // A change of state, version or run: the lists are read again at once.
  const changeKey = [task.version, s, task.lastRun?.id, task.startedAt].join('|');
  if (seenKey !== null && seenKey !== changeKey) refreshLists();
  seenKey = changeKey;
}

function taskLink(taskName) {
  const link = text('a', taskName);
  link.href = `#/task/${encodeURIComponent(taskName)}`;
  return link;
}

function facts(dl, rows) {
  dl.replaceChildren(...rows.filter(Boolean).flatMap(([label, ...values]) => {
    const dd = document.createElement('dd');
    dd.append(...values);
    return [text('dt', label), dd];
  }));
}

function time(iso) {
  const date = parseTime(iso);
  if (!date) return text('span', '—');
  const t = text('time', localTime(date));
  t.setAttribute('datetime', iso);
  t.title = date.toString();
  return t;
}

/** What runs now: redrawn every second (elapsed time, countdowns). */
function tick() {
  const task = current();
  if (!task) return;
  const now = serverNow();
  el.note.textContent = stateNote(task, now);
  const started = task.instanceId && task.startedAt ? Date.parse(task.startedAt) : null;
  const rows = [];
  if (started) {
    const progress = document.createElement('progress');
    progress.max = 1;
    if (task.progress != null) progress.value = task.progress;
    progress.setAttribute('aria-label', `Progress of ${task.name}`);
    rows.push(['Instance', text('span', task.instanceId, 'instance')]);
    rows.push(['Running for', text('span', duration((now - started) / 1000)), ' of ',
      text('span', duration(task.timeoutSeconds)), ' allowed']);
    rows.push(['Progress', progress, task.progress != null ? ` ${Math.round(task.progress * 100)} %` : '']);
  }
  // overlap ALLOW: several runs at once, each its own instance, start and progress.
  const inProgress = task.runsInProgress || [];
  if (task.overlap === 'ALLOW') {
    rows.push(['Runs in progress', `${inProgress.length} of at most ${task.maxConcurrent} at once`]);
  }
  for (const r of inProgress) {
    const since = Date.parse(r.startedAt);
    rows.push([`Run ${r.runId}`, text('span', r.instanceId, 'instance'),
      ` for ${duration((now - since) / 1000)}`, r.attempt > 1 ? ` (attempt ${r.attempt})` : '',
      r.progress != null ? ` · ${Math.round(r.progress * 100)} %` : '']);
  }
  const s = taskState(task);
  const blocked = task.paused || s === 'QUARANTINED' ? 'when resumed' : s === 'DISABLED' ? 'never (disabled)'
    : s === 'COMPLETED' ? 'never (a one-time task that has run)' : null;
  if (task.at) rows.push(['Runs once at', time(task.at)]);
  const next = blocked ? null : parseTime(task.nextRunAt);
  rows.push(['Next run', next ? time(task.nextRunAt) : text('span', blocked || '—'),
    next ? ` · ${relative((next.getTime() - now) / 1000)}` : '']);
  if (task.paused) {
    rows.push(['Paused since', time(task.paused.since)]);
    rows.push(['Paused until', task.paused.until ? time(task.paused.until) : text('span', 'resumed by hand')]);
    if (task.paused.reason) rows.push(['Reason', text('span', task.paused.reason, 'reason')]);
  }
  if (task.quarantinedAt) rows.push(['Quarantined since', time(task.quarantinedAt)]);
  if (task.triggerQueued) rows.push(['Queued', text('span', 'a run after the one in progress')]);
  const last = task.lastRun;
  if (last) {
    rows.push(['Last run', text('span', last.status, `state state-${last.status.toLowerCase()}`),
      ' ended ', time(last.finishedAt),
      last.durationSeconds != null ? `, took ${duration(last.durationSeconds)}` : '']);
  }
  facts(el.now, rows);
}

const MISFIRES = { RUN_ONCE: 'run once, late', SKIP: 'skip the missed times', CATCH_UP: 'run each missed time' };
const OVERLAPS = {
  SKIP: 'no second run; a missed time (above)', BUFFER_ONE: 'run once right after the run',
  REPLACE: 'cancel the run, start the new one',
  ALLOW: 'start another run, up to its max-concurrent at once',
};

function retryText(r) {
  if (!r || !r.maxAttempts || r.maxAttempts <= 1) return 'none';
  const parts = [`up to ${r.maxAttempts} attempts in all`];
  if (r.initialBackoffSeconds != null) parts.push(`first after ${duration(r.initialBackoffSeconds)}`);
  if (r.multiplier != null && r.multiplier !== 1) parts.push(`×${r.multiplier} each time`);
  if (r.maxBackoffSeconds != null) parts.push(`at most ${duration(r.maxBackoffSeconds)}`);
  return parts.join(', ');
}

function drawDefinition(task) {
  const summary = state.summaries.get(task.name);
  const words = summary && summary.schedule === task.schedule ? summary.words : '';
  // Tasks that run after this one (run-after), from the board's list of every task.
  const downstream = [...state.tasks.values()].filter((t) => t.runAfter?.task === task.name).map((t) => t.name).sort();
  const key = JSON.stringify([task.version, task.schedule, words, task.enabled, task.retired, downstream]);
  if (drawn.definition === key) return;
  drawn.definition = key;
  const params = text('pre', JSON.stringify(task.params ?? {}, null, 2), 'params');
  let misfire = MISFIRES[task.misfire] || task.misfire || '—';
  if (task.misfire === 'SKIP' && task.misfireThresholdSeconds != null) {
    misfire += ` (missed by more than ${duration(task.misfireThresholdSeconds)})`;
  }
  if (task.misfire === 'CATCH_UP') {
    misfire += ` (at most ${task.catchUpLimit}, within ${duration(task.catchUpWindowSeconds)})`;
  }
  facts(el.definition, [
    ['Handler', text('code', task.handler)],
    task.runAfter && task.schedule === 'once' && !task.at
      ? ['Schedule', 'none of its own: it runs only after its upstream']
      : ['Schedule', words ? `${words} · ` : '', text('code', task.schedule),
        task.timeZone && task.timeZone !== 'UTC' ? ` (${task.timeZone})` : ''],
    ['Timeout', duration(task.timeoutSeconds)],
    ['Enabled', task.enabled ? 'yes' : 'no', task.retired ? ' (retired: no live instance defines it)' : ''],
    ['Parameters', params],
    ['Retries', retryText(task.retry)],
    ['Missed times', misfire],
    ['Jitter', task.jitterSeconds ? `up to ${duration(task.jitterSeconds)}` : 'none'],
    ['Due while running', OVERLAPS[task.overlap] || task.overlap || '—',
      task.overlap === 'ALLOW' ? ` (${task.maxConcurrent} at once across all instances)` : ''],
    ['Cost', `${task.cost ?? 1} ${task.cost === 1 || task.cost == null ? 'unit' : 'units'} of an instance's capacity`],
    ['Priority', `${task.priority ?? 0} (-100 to 100; higher starts first where capacity is short)`],
    ['Concurrency group', task.concurrencyGroup || 'none'],
    task.runAfter && ['Runs after', 'runs after ', taskLink(task.runAfter.task), ` when ${task.runAfter.when}`],
    downstream.length > 0 && ['Runs before', ...downstream.flatMap((n, i) => (i ? [', ', taskLink(n)] : [taskLink(n)]))],
    ['Version', String(task.version ?? '—')],
  ]);
}

function refreshLists() {
  clearTimeout(timer);
  const mine = ++generation;
  const work = [];
  if (!runs.paged) work.push(loadRuns(true, mine));
  if (!events.paged) work.push(loadEvents(true, mine));
  work.push(loadBackfills(name));
  if (current()) {
    const forName = name;
    work.push(loadNotifications(forName, () => forName === name && mine === generation).catch(() => {}));
  }
  Promise.allSettled(work).then(() => {
    if (mine !== generation || !name) return;
    timer = setTimeout(function again() {
      if (!document.hidden && !view.contains(document.activeElement)) refreshLists();
      else timer = setTimeout(again, REFRESH_MS);
    }, REFRESH_MS);
  });
}

async function loadRuns(first, mine = generation) {
  const forName = name;
  // A task that is gone has no runs to read (they went with it).
  if (current() === null) return;
  const q = new URLSearchParams({ limit: RUNS });
  if (!first && runs.list.length) q.set('before', runs.list[runs.list.length - 1].id);
  try {
    const batch = (await get(`/tasks/${enc(forName)}/runs?${q}`)).runs;
    if (forName !== name || (first && mine !== generation)) return;
    runs = {
      list: first ? batch : runs.list.concat(batch),
      exhausted: batch.length < RUNS,
      paged: runs.paged || !first,
    };
    drawRuns();
  } catch (e) {
    if (forName !== name || !(e instanceof ApiError)) throw e;
    el.runsEmpty.textContent = `Could not read the runs: ${e.message}`;
    el.runsEmpty.hidden = false;
  }
}

function drawRuns() {
  syncRuns(el.runs, runs.list, { withTask: false, open });
  el.runsEmpty.textContent = 'No run yet.';
  el.runsEmpty.hidden = runs.list.length > 0;
  el.runsMore.hidden = runs.exhausted;
}

async function loadEvents(first, mine = generation) {
  const forName = name;
  const q = new URLSearchParams({ limit: EVENTS });
  if (!first && events.list.length) q.set('before', events.list[events.list.length - 1].id);
  try {
    const batch = (await get(`/tasks/${enc(forName)}/events?${q}`)).events;
    if (forName !== name || (first && mine !== generation)) return;
    events = {
      list: first ? batch : events.list.concat(batch),
      exhausted: batch.length < EVENTS,
      paged: events.paged || !first,
    };
    // Events never change: a row already shown is kept (no flicker, an open definition stays open).
    const shown = new Map([...el.events.children].map((li) => [li.dataset.event, li]));
    const items = events.list.map((e) => shown.get(String(e.id)) || describeEvent(e));
    if (items.length !== el.events.children.length || items.some((li, i) => el.events.children[i] !== li)) {
      el.events.replaceChildren(...items);
    }
    el.eventsEmpty.textContent = 'No change recorded.';
    el.eventsEmpty.hidden = events.list.length > 0;
    el.eventsMore.hidden = events.exhausted;
  } catch (e) {
    if (forName !== name || !(e instanceof ApiError)) throw e;
    el.events.replaceChildren();
    el.eventsEmpty.textContent = e.code === 'task_not_found'
      ? 'No task of this name has ever existed.' : `Could not read the audit trail: ${e.message}`;
    el.eventsEmpty.hidden = false;
    el.eventsMore.hidden = true;
  }
}
