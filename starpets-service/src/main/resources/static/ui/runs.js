// The run history with filters, all applied by the server (GET /runs?task=&status=&instanceId=
// &from=&to=): pages of 50 runs, newest first; the first page refreshes itself while nobody has
// paged back into the history.

import { get, ApiError } from './api.js';
import { handleClicks } from './actions.js';
import { onRoleChange } from './session.js';
import { state, subscribe } from './live.js';
import { syncRuns } from './runrows.js';

const PAGE = 50;
const REFRESH_MS = 3000;

const form = document.getElementById('run-filters');
const body = document.getElementById('runs-body');
const more = document.getElementById('runs-more');
const empty = document.getElementById('runs-empty');
const open = new Set();
let current = { filters: {}, before: null, exhausted: false, runs: [], paged: false };
let generation = 0;
let timer = null;

export function initRuns() {
  handleClicks(body);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (value) params.set(key, value.trim());
    location.hash = `#/runs${params.size ? `?${params}` : ''}`;
  });
  form.addEventListener('reset', () => setTimeout(() => { location.hash = '#/runs'; }));
  more.addEventListener('click', () => load(false));
  onRoleChange(() => draw());
  subscribe((change) => {
    if (change.tasks) fillDatalists();
  });
}

export function showRuns(params) {
  const filters = Object.fromEntries(params);
  for (const element of form.elements) {
    if (element.name) element.value = filters[element.name] || '';
  }
  current = { filters, before: null, exhausted: false, runs: [], paged: false };
  load(true);
}

export function hideRuns() {
  clearTimeout(timer);
  generation++;
}

function fillDatalists() {
  const names = document.getElementById('task-names');
  if (names.options.length !== state.tasks.size) {
    names.replaceChildren(...[...state.tasks.keys()].map((name) => new Option(name)));
  }
  const ids = new Set([...state.tasks.values()].map((t) => t.instanceId).filter(Boolean));
  const list = document.getElementById('instance-ids');
  for (const option of list.options) ids.delete(option.value);
  list.append(...[...ids].map((id) => new Option(id)));
}

/** A datetime-local value (the viewer's local time) as the ISO instant the API reads. */
function instant(local) {
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** The query for one page: the form's filters as the API names them. */
function runsQuery(f, before) {
  const q = new URLSearchParams({ limit: PAGE });
  if (f.task) q.set('task', f.task);
  if (f.status) q.set('status', f.status);
  if (f.instance) q.set('instanceId', f.instance);
  if (f.from && instant(f.from)) q.set('from', instant(f.from));
  if (f.to && instant(f.to)) q.set('to', instant(f.to));
  if (before) q.set('before', before);
  return `/runs?${q}`;
}

async function load(first) {
  clearTimeout(timer);
  const mine = ++generation;
  const f = current.filters;
  try {
    const batch = (await get(runsQuery(f, first ? null : current.before))).runs;
    if (mine !== generation) return;
    const runs = first ? batch : current.runs.concat(batch);
    current = {
      filters: f,
      before: runs.length ? runs[runs.length - 1].id : null,
      exhausted: batch.length < PAGE,
      runs,
      paged: !first || current.paged,
    };
    draw();
  } catch (e) {
    if (mine !== generation) return;
    body.replaceChildren();
    empty.textContent = e instanceof ApiError && e.code === 'invalid_parameter'
      ? `Check the filters: ${e.message}` : `Could not read the runs: ${e.message}`;
    empty.hidden = false;
    more.hidden = true;
  }
  // The newest runs stay fresh while nobody has paged back into the history.
  if (mine === generation && !current.paged) {
    timer = setTimeout(function again() {
      if (!document.hidden && !body.contains(document.activeElement)) load(true);
      else timer = setTimeout(again, REFRESH_MS);
    }, REFRESH_MS);
  }
}

function draw() {
  syncRuns(body, current.runs, { open });
  empty.textContent = 'No run matches.';
  empty.hidden = current.runs.length > 0;
  more.hidden = current.exhausted;
}
