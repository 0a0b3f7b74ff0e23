// The console's picture of the cluster, kept fresh by short polling of GET /tasks (the same on
// every instance, so any instance behind nginx answers). docs/benchmarks-console.md says why
// polling, with the measurements. Views subscribe and redraw what changed; nothing here touches
// the page.

import { get, enc, ApiError } from './api.js';

/** Faster for a small cluster; a board of hundreds of tasks is a bigger answer, so half as often. */
const POLL_MS_SMALL = 1000;
const POLL_MS_LARGE = 2000;
const LARGE = 200;
/** Summaries of at most this many tasks are asked for by name; more: all at once. */
const BY_NAME = 100;

export const state = {
  tasks: new Map(),        // name -> task as GET /tasks returns it, plus derived fields
  summaries: new Map(),    // name -> { words, schedule, timeZone, outcomes }
  offset: 0,               // server clock - this browser's clock, ms
  polledAt: 0,
  error: null,
  polls: 0,
};

const listeners = new Set();
let timer = null;
let inFlight = false;

export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(changed) {
  for (const listener of listeners) listener(changed);
}

/** The database clock, as far as this browser can tell. */
export function serverNow() {
  return Date.now() + state.offset;
}

/** The instance a task left when its previous one died: its last run was lost there. */
export function movedFrom(task) {
  const last = task.lastRun;
  return last && last.status === 'LOST' && last.instanceId && last.instanceId !== task.instanceId
    ? last.instanceId : null;
}

export function start() {
  document.addEventListener('visibilitychange', () => {
    // A hidden tab costs nothing; it catches up the moment it is shown.
    if (!document.hidden) refresh();
  });
  refresh();
}

/** Polls at once (after an action, or when the tab is shown again). */
export function refresh() {
  clearTimeout(timer);
  timer = null;
  poll();
}

async function poll() {
  if (inFlight) return;
  inFlight = true;
  try {
    await pollTasks();
    state.error = null;
  } catch (e) {
    state.error = e;
    emit({ error: e });
  } finally {
    inFlight = false;
    if (!document.hidden) {
      timer = setTimeout(poll, state.tasks.size > LARGE ? POLL_MS_LARGE : POLL_MS_SMALL);
    }
  }
}

async function pollTasks() {
  const sent = Date.now();
  const body = await get('/tasks');
  const received = Date.now();
  // The answer's "now" was read about half-way through the round trip.
  state.offset = Date.parse(body.now) - (sent + received) / 2;
  state.polledAt = received;
  state.polls++;

  const seen = new Set();
  const changed = new Set();
  const stale = [];
  for (const task of body.tasks) {
    seen.add(task.name);
    const before = state.tasks.get(task.name);
    if (!before || before.lastRun?.id !== task.lastRun?.id || before.schedule !== task.schedule) {
      stale.push(task.name);
    }
    if (!before || JSON.stringify(before) !== JSON.stringify(task)) changed.add(task.name);
    state.tasks.set(task.name, task);
  }
  const removed = [...state.tasks.keys()].filter((name) => !seen.has(name));
  for (const name of removed) {
    state.tasks.delete(name);
    state.summaries.delete(name);
  }
  emit({ changed, removed, tasks: true });
  if (stale.length) await loadSummaries(stale);
}

/** The schedules in words and the last 20 outcomes, for the tasks whose last run changed. */
async function loadSummaries(names) {
  const query = names.length > BY_NAME ? '' : `?task=${names.map(enc).join(',')}`;
  try {
    const body = await get(`/ui/api/summaries${query}`);
    const changed = new Set();
    for (const summary of body.tasks) {
      state.summaries.set(summary.name, summary);
      changed.add(summary.name);
    }
    emit({ changed, summaries: true });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    // The board works without the strips; they are asked for again when the next run ends.
    for (const name of names) state.summaries.delete(name);
  }
}
