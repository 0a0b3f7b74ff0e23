// The console's entry point: a router over three views (#/tasks, #/runs, #/instances), the live
// status line, and the start of polling. Modules, no build step, nothing from another origin.

import { start, subscribe, state } from './live.js';
import { initSession } from './session.js';
import { initBoard } from './board.js';
import { initRuns, showRuns, hideRuns } from './runs.js';
import { initInstances, showInstances, hideInstances } from './instances.js';
import { ApiError } from './api.js';

const VIEWS = ['tasks', 'runs', 'instances'];

function route() {
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const view = VIEWS.includes(path) ? path : 'tasks';
  for (const name of VIEWS) {
    document.getElementById(`view-${name}`).hidden = name !== view;
    const link = document.querySelector(`[data-nav="${name}"]`);
    if (name === view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${view[0].toUpperCase()}${view.slice(1)} · StarPets console`;
  if (view === 'runs') showRuns(new URLSearchParams(query));
  else hideRuns();
  if (view === 'instances') showInstances();
  else hideInstances();
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
window.addEventListener('hashchange', route);
route();
initSession().then(start);
