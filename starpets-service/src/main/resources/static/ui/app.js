// The console's entry point: a router over the views (#/tasks, #/task/<name>, #/runs,
// #/instances), the live status line, and the start of polling. Modules, no build step, nothing
// from another origin.

import { start, subscribe, state } from './live.js';
import { initSession } from './session.js';
import { initBoard, showBoard } from './board.js';
import { initRuns, showRuns, hideRuns } from './runs.js';
import { initInstances, showInstances, hideInstances } from './instances.js';
import { initTask, showTask, hideTask } from './task.js';
import { ApiError } from './api.js';

const VIEWS = ['tasks', 'task', 'runs', 'instances'];
let shownView = null;
let shownTask = null;

function route() {
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [first, ...rest] = path.split('/');
  let taskName = null;
  try {
    taskName = first === 'task' && rest.length ? decodeURIComponent(rest.join('/')) : null;
  } catch {
    // A malformed address: the board.
  }
  const view = taskName ? 'task' : VIEWS.includes(first) && first !== 'task' ? first : 'tasks';
  for (const name of VIEWS) {
    document.getElementById(`view-${name}`).hidden = name !== view;
    const link = document.querySelector(`[data-nav="${name}"]`);
    if (!link) continue;
    // A task's page belongs to the tasks section.
    if (name === view || (view === 'task' && name === 'tasks')) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (view !== shownView || taskName !== shownTask) window.scrollTo(0, 0);
  shownView = view;
  shownTask = taskName;
  document.title = `${taskName || `${view[0].toUpperCase()}${view.slice(1)}`} · StarPets console`;
  if (view === 'tasks') showBoard();
  if (view === 'runs') showRuns(new URLSearchParams(query));
  else hideRuns();
  if (view === 'instances') showInstances();
  else hideInstances();
  if (view === 'task') showTask(taskName);
  else hideTask();
}

/** Changes a live region only when its text changes, so a screen reader is not told "live" every second. */
function say(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

function liveStatus() {
  const live = document.getElementById('live');
  const banner = document.getElementById('banner');
  subscribe((change) => {
    if (change.error) {
      const e = change.error;
      say(live, 'offline, retrying');
      live.dataset.state = 'error';
      say(banner, e instanceof ApiError && (e.status === 401 || e.status === 403)
        ? 'Reading needs a token: sign in.'
        : `The service does not answer (${e.message}); retrying.`);
      banner.hidden = false;
    } else if (change.tasks) {
      say(live, 'live');
      live.dataset.state = 'ok';
      live.title = `Updated ${new Date(state.polledAt).toLocaleTimeString()}`;
      banner.hidden = true;
    }
  });
}

liveStatus();
initBoard();
initRuns();
initInstances();
initTask();
window.addEventListener('hashchange', route);
route();
initSession().then(start);
