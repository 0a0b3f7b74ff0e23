// A task's backfills on its page (GET /tasks/{name}/backfills): each with its slots counted (done,
// failed, pending, running, cancelled), its first and last slot, and for an operator a Cancel button
// while it is in progress (DELETE /backfills/{id}); and the form that asks for one
// (POST /tasks/{name}/backfill {from, to, maxParallel}, the times entered in local time). Refreshed with the
// task's runs (task.js).

import { request, get, enc } from './api.js';
import { confirmAction, toast } from './dialogs.js';
import { isOperator } from './session.js';
import { localTime } from './format.js';

const panel = document.getElementById('task-backfills-panel');
const list = document.getElementById('task-backfills');
const empty = document.getElementById('task-backfills-empty');
const form = document.getElementById('backfill-form');
let taskName = null;

/** Shows the backfills of {@code name}; the form only for an operator. */
export async function loadBackfills(name) {
  taskName = name;
  form.hidden = !isOperator();
  try {
    const backfills = (await get(`/tasks/${enc(name)}/backfills?limit=20`)).backfills;
    if (taskName !== name) return;
    list.replaceChildren(...backfills.map(item));
    empty.hidden = backfills.length > 0;
    panel.hidden = false;
  } catch {
    list.replaceChildren();
    empty.hidden = false;
  }
}

export function clearBackfills() {
  taskName = null;
  list.replaceChildren();
  form.reset();
}

function item(b) {
  const li = document.createElement('li');
  li.dataset.backfill = String(b.id);
  const counts = [`${b.done} done`, `${b.failed} failed`, `${b.pending} pending`, `${b.running} running`,
    `${b.cancelled} cancelled`].join(', ');
  const atOnce = b.maxParallel > 1 ? `, up to ${b.maxParallel} at once` : '';
  li.textContent = `Backfill ${b.id}: ${b.slots} slots${atOnce}, ${localTime(new Date(b.firstSlot))} to `
    + `${localTime(new Date(b.lastSlot))} — ${b.state.toLowerCase().replace('_', ' ')}; ${counts}`
    + ` (by ${b.requestedBy})`;
  if (isOperator() && b.state === 'IN_PROGRESS') {
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.className = 'action danger';
    cancel.textContent = 'Cancel';
    cancel.setAttribute('aria-label', `Cancel backfill ${b.id}`);
    cancel.addEventListener('click', () => cancelBackfill(b.id).catch((e) => toast(e.message, 'error')));
    li.append(' ', cancel);
  }
  return li;
}

async function cancelBackfill(id) {
  const yes = await confirmAction(
    `Cancel backfill ${id}?`,
    'Its slots not started yet will not run; a slot running now ends as it would.',
    'Cancel the backfill');
  if (!yes) return;
  await request(`/backfills/${id}`, { method: 'DELETE' });
  toast(`Backfill ${id}: cancelled`);
  if (taskName) await loadBackfills(taskName);
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!taskName) return;
  const from = new Date(form.elements.from.value);
  const to = new Date(form.elements.to.value);
  const maxParallel = Number(form.elements.maxParallel.value || 1);
  try {
    const { body } = await request(`/tasks/${enc(taskName)}/backfill`, {
      method: 'POST', body: { from: from.toISOString(), to: to.toISOString(), maxParallel },
    });
    toast(`Backfill ${body.backfillId}: ${body.slots} runs of ${taskName}, oldest first`);
    form.reset();
    await loadBackfills(taskName);
  } catch (e) {
    toast(e.message, 'error');
  }
});
