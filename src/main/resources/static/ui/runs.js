// The run history with filters. The API filters by task (/tasks/{name}/runs) or by status and
// instance (/runs); the page applies the rest, and the time range, to pages of 200 runs, newest
// first, reading at most 10 pages per look.

import { get, enc, ApiError } from './api.js';
import { duration, localTime, parseTime } from './format.js';
import { runButtons, handleClicks } from './actions.js';
import { onRoleChange } from './session.js';
import { state, subscribe, serverNow } from './live.js';

const PAGE = 200;
const WANTED = 50;
const MAX_PAGES = 10;
const REFRESH_MS = 3000;

const form = document.getElementById('run-filters');
const body = document.getElementById('runs-body');
const more = document.getElementById('runs-more');
const empty = document.getElementById('runs-empty');
let current = { filters: {}, before: null, exhausted: false, runs: [], paged: false };
let generation = 0;
let timer = null;

export function initRuns() {
  handleClicks(body);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (value) params.set(key, value);
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

function matches(run, f) {
  if (f.status && run.status !== f.status) return false;
  if (f.instance && run.instanceId !== f.instance) return false;
  if (f.task && run.task !== f.task) return false;
  const started = Date.parse(run.startedAt);
  if (f.to && started > new Date(f.to).getTime()) return false;
  if (f.from && started < new Date(f.from).getTime()) return false;
  return true;
}

async function load(first) {
  clearTimeout(timer);
  const mine = ++generation;
  const f = current.filters;
  let found = 0;
  let pages = 0;
  let before = first ? null : current.before;
  const runs = first ? [] : current.runs.slice();
  let exhausted = false;
  try {
    while (found < WANTED && pages < MAX_PAGES && !exhausted) {
      const page = new URLSearchParams({ limit: PAGE });
      if (before) page.set('before', before);
      let url;
      if (f.task) {
        url = `/tasks/${enc(f.task)}/runs?${page}`;
      } else {
        if (f.status) page.set('status', f.status);
        if (f.instance) page.set('instanceId', f.instance);
        url = `/runs?${page}`;
      }
      const batch = (await get(url)).runs;
      if (mine !== generation) return;
      pages++;
      exhausted = batch.length < PAGE;
      for (const run of batch) {
        before = run.id;
        if (f.from && Date.parse(run.startedAt) < new Date(f.from).getTime()) exhausted = true;
        if (matches(run, f)) {
          runs.push(run);
          found++;
        }
      }
    }
    current = { filters: f, before, exhausted, runs, paged: !first };
    draw();
  } catch (e) {
    if (mine !== generation) return;
    body.replaceChildren();
    empty.textContent = e instanceof ApiError && e.code === 'task_not_found'
      ? `No task named “${f.task}”.` : `Could not read the runs: ${e.message}`;
    empty.hidden = false;
    more.hidden = true;
  }
  // The newest runs stay fresh while nobody has paged back into the history.
  if (mine === generation && !current.paged) {
    timer = setTimeout(() => {
      if (!document.hidden && !body.contains(document.activeElement)) load(true);
      else timer = setTimeout(() => load(true), REFRESH_MS);
    }, REFRESH_MS);
  }
}

function draw() {
  body.replaceChildren(...current.runs.map(row));
  empty.textContent = 'No run matches.';
  empty.hidden = current.runs.length > 0;
  more.hidden = current.exhausted;
}

function cell(label, ...children) {
  const td = document.createElement('td');
  td.dataset.label = label;
  td.append(...children);
  return td;
}

function text(tag, value, className) {
  const element = document.createElement(tag);
  element.textContent = value;
  if (className) element.className = className;
  return element;
}

function details(summary, content, className) {
  const d = document.createElement('details');
  d.className = className;
  d.append(text('summary', summary), text('pre', content));
  return d;
}

function row(run) {
  const tr = document.createElement('tr');
  tr.dataset.run = run.id;
  tr.dataset.task = run.task;
  tr.dataset.status = run.status;
  const link = text('a', run.task);
  link.href = `#/runs?task=${encodeURIComponent(run.task)}`;
  const started = parseTime(run.startedAt);
  const time = text('time', localTime(started));
  time.setAttribute('datetime', run.startedAt);
  time.title = started.toString();
  const secs = run.status === 'RUNNING' && !run.finishedAt
    ? (serverNow() - started.getTime()) / 1000 : run.durationSeconds;
  const info = document.createElement('div');
  info.className = 'run-info';
  if (run.error) {
    info.append(run.error.length > 120 || run.error.includes('\n')
      ? details(run.error.split('\n')[0].slice(0, 120) + '…', run.error, 'error')
      : text('span', run.error, 'error'));
  }
  if (run.output != null && run.output !== '') {
    info.append(details('Output', String(run.output), 'output'));
  }
  if (run.result != null) {
    info.append(details('Result', typeof run.result === 'string'
      ? run.result : JSON.stringify(run.result, null, 2), 'result'));
  }
  if (run.status === 'RUNNING' && run.progress != null) {
    const p = document.createElement('progress');
    p.max = 1;
    p.value = run.progress;
    p.setAttribute('aria-label', `Progress of run ${run.id}`);
    info.append(p);
  }
  tr.append(
    cell('Run', text('span', String(run.id))),
    cell('Task', link),
    cell('Status', text('span', run.status, `state state-${run.status.toLowerCase()}`)),
    cell('Instance', text('span', run.instanceId)),
    cell('Started', time),
    cell('Duration', text('span', duration(secs))),
    cell('Attempt', text('span', String(run.attempt))),
    cell('Error and output', info),
    cell('Actions', runButtons(run)),
  );
  tr.lastElementChild.className = 'actions';
  return tr;
}
