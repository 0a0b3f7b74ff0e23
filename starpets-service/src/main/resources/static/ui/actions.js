// What an operator can do, through the management API: pause, resume, trigger, cancel, edit,
// create, delete. Buttons are drawn only for the operator role (session.js), and only those that
// apply to the task's state and source; the server checks the token again on every request.
// Cancel and delete ask first: they destroy work.

import { request, get, enc } from './api.js';
import { confirmAction, toast } from './dialogs.js';
import { refresh } from './live.js';
import { taskState } from './states.js';
import { isOperator } from './session.js';
import { edit } from './taskform.js';

function button(label, action, ariaLabel, kind = '') {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = `action ${kind}`.trim();
  b.textContent = label;
  b.dataset.action = action;
  b.setAttribute('aria-label', ariaLabel);
  return b;
}

/** What decides a task's buttons: redraw them only when this changes (keeps keyboard focus). */
export function buttonsKey(task) {
  return [isOperator(), taskState(task), !!task.paused, task.source, task.triggerQueued].join(':');
}

/**
 * The buttons of one task; none unless the viewer is an operator. Configuration tasks are edited
 * where they are declared (the API refuses with task_from_configuration): no edit, no delete.
 * {@code withDelete}: on the task's own page.
 */
export function taskButtons(task, { withDelete = false } = {}) {
  const fragment = document.createDocumentFragment();
  if (!isOperator()) return fragment;
  const s = taskState(task);
  const name = task.name;
  const running = s === 'RUNNING' || s === 'STUCK';
  if (s === 'WAITING' || s === 'WAITING_FOR_GROUP' || s === 'PAUSED') {
    fragment.append(button('Run now', 'trigger', `Run ${name} now`));
  } else if (running && !task.triggerQueued) {
    fragment.append(button('Queue a run', 'queue', `Run ${name} again when this run ends`));
  }
  if (task.paused || s === 'QUARANTINED') {
    fragment.append(button('Resume', 'resume', `Resume ${name}`));
  } else if (s !== 'DISABLED') {
    fragment.append(button('Pause', 'pause', `Pause ${name}`));
  }
  if (running) {
    fragment.append(button('Cancel run', 'cancel', `Cancel the run of ${name} in progress`, 'danger'));
  }
  if (task.source === 'API') {
    fragment.append(button('Edit', 'edit', `Edit ${name}`));
    if (withDelete) fragment.append(button('Delete', 'delete', `Delete ${name}`, 'danger'));
  }
  return fragment;
}

/** The cancel button of a run in progress or a pending one-off run, on the runs page and a task's page. */
export function runButtons(run) {
  const fragment = document.createDocumentFragment();
  if (isOperator() && run.status === 'RUNNING') {
    fragment.append(button('Cancel', 'cancel-run', `Cancel run ${run.id} of ${run.task}`, 'danger'));
  }
  if (isOperator() && run.status === 'PENDING') {
    fragment.append(button('Cancel', 'withdraw-run', `Cancel pending run ${run.id} of ${run.task}`, 'danger'));
  }
  return fragment;
}

/**
 * One listener per container: buttons carry their action, rows (or the page) their task or run.
 * {@code beforeDelete}/{@code afterDelete(gone)}: a task's page stops reading what is being deleted.
 */
export function handleClicks(container, { beforeDelete, afterDelete } = {}) {
  container.addEventListener('click', async (event) => {
    const b = event.target.closest('button[data-action]');
    if (!b) return;
    const holder = b.closest('[data-task]');
    const task = holder?.dataset.task;
    b.disabled = true;
    try {
      switch (b.dataset.action) {
        case 'trigger': await trigger(task, false); break;
        case 'queue': await trigger(task, true); break;
        case 'pause': await pause(task); break;
        case 'resume': await resume(task); break;
        case 'cancel': await cancelTask(task); break;
        case 'cancel-run': await cancelRun(Number(holder.dataset.run), task); break;
        case 'withdraw-run': await withdrawRun(Number(holder.dataset.run), task); break;
        case 'edit': await edit(task); break;
        case 'delete': {
          let gone = false;
          beforeDelete?.();
          try {
            gone = await remove(task, holder.dataset.version);
          } finally {
            afterDelete?.(gone);
          }
          break;
        }
        default: break;
      }
    } catch (e) {
      toast(e.message, 'error');
    } finally {
      b.disabled = false;
    }
  });
}

async function done(message) {
  toast(message);
  refresh();
}

async function trigger(name, queue) {
  await request(`/tasks/${enc(name)}/trigger${queue ? '?queue=true' : ''}`, { method: 'POST' });
  await done(queue ? `${name}: runs again when this run ends` : `${name}: run requested`);
}

async function resume(name) {
  await request(`/tasks/${enc(name)}/resume`, { method: 'POST' });
  await done(`${name}: resumed`);
}

function pause(name) {
  const dialog = document.getElementById('pause-dialog');
  const form = document.getElementById('pause-form');
  document.getElementById('pause-title').textContent = `Pause ${name}`;
  form.reset();
  return new Promise((resolve, reject) => {
    const onSubmit = async (event) => {
      event.preventDefault();
      const body = {};
      if (form.elements.until.value) body.until = new Date(form.elements.until.value).toISOString();
      if (form.elements.reason.value.trim()) body.reason = form.elements.reason.value.trim();
      try {
        await request(`/tasks/${enc(name)}/pause`, {
          method: 'POST', body: Object.keys(body).length ? body : undefined,
        });
        dialog.close();
        await done(`${name}: paused`);
        resolve();
      } catch (e) {
        dialog.close();
        reject(e);
      }
    };
    form.addEventListener('submit', onSubmit);
    dialog.addEventListener('close', () => {
      form.removeEventListener('submit', onSubmit);
      resolve();
    }, { once: true });
    dialog.showModal();
  });
}

/**
 * Cancels the run in progress of a task: its newest run. A STUCK task's run is already recorded
 * TIMED_OUT while its handler still executes; cancelling it stops the handler.
 */
async function cancelTask(name) {
  const run = (await get(`/tasks/${enc(name)}/runs?limit=1`)).runs[0];
  if (!run || (run.finishedAt && run.status !== 'TIMED_OUT')) {
    toast(`${name} has no run in progress`);
    return;
  }
  await cancelRun(run.id, name);
}

async function cancelRun(id, name) {
  const yes = await confirmAction(
    `Cancel run ${id}?`,
    `The run of ${name} in progress is interrupted; the work it has done so far is lost.`,
    'Cancel the run');
  if (!yes) return;
  await request(`/runs/${id}/cancel`, { method: 'POST' });
  await done(`Run ${id} of ${name}: cancel requested`);
}

/** Withdraws a pending one-off run before it starts (DELETE /runs/{id}): recorded CANCELLED. */
async function withdrawRun(id, name) {
  const yes = await confirmAction(
    `Cancel pending run ${id}?`,
    `The one-off run of ${name} will not start.`,
    'Cancel the pending run');
  if (!yes) return;
  await request(`/runs/${id}`, { method: 'DELETE' });
  await done(`Run ${id} of ${name}: cancelled before it started`);
}

/**
 * Deletes a task after asking, only at the version the operator was looking at ({@code If-Match}).
 * Resolves true when it is gone.
 */
async function remove(name, version) {
  const yes = await confirmAction(
    `Delete ${name}?`,
    'The task and its run history are deleted; its audit trail stays. A task with a run in progress '
      + 'cannot be deleted: cancel the run first.',
    'Delete the task');
  if (!yes) return false;
  await request(`/tasks/${enc(name)}`, {
    method: 'DELETE', headers: version ? { 'If-Match': `"${version}"` } : {},
  });
  await done(`${name}: deleted`);
  return true;
}
