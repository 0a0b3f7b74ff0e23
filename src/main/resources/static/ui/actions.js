// What an operator can do, through the management API: pause, resume, trigger, cancel, edit,
// create, delete. Buttons are drawn only for the operator role (session.js); the server checks the
// token again on every request. Cancel and delete ask first: they destroy work.

import { request, get, enc } from './api.js';
import { confirmAction, toast } from './dialogs.js';
import { refresh, taskState } from './live.js';
import { isOperator } from './session.js';

function button(label, action, ariaLabel, kind = '') {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = `action ${kind}`.trim();
  b.textContent = label;
  b.dataset.action = action;
  b.setAttribute('aria-label', ariaLabel);
  return b;
}

/** The buttons of one board row; none unless the viewer is an operator. */
export function taskButtons(task) {
  const fragment = document.createDocumentFragment();
  if (!isOperator()) return fragment;
  const state = taskState(task);
  const name = task.name;
  fragment.append(button('Run now', 'trigger', `Run ${name} now`));
  if (state === 'PAUSED') fragment.append(button('Resume', 'resume', `Resume ${name}`));
  else fragment.append(button('Pause', 'pause', `Pause ${name}`));
  if (state === 'RUNNING' || state === 'STUCK') {
    fragment.append(button('Cancel run', 'cancel', `Cancel the run of ${name} in progress`, 'danger'));
  }
  fragment.append(button('Edit', 'edit', `Edit ${name}`));
  return fragment;
}

/** The cancel button of a run in progress, on the runs page. */
export function runButtons(run) {
  const fragment = document.createDocumentFragment();
  if (isOperator() && run.status === 'RUNNING') {
    fragment.append(button('Cancel', 'cancel-run', `Cancel run ${run.id} of ${run.task}`, 'danger'));
  }
  return fragment;
}

/** One listener per table: buttons carry their action, rows their task (or run). */
export function handleClicks(container) {
  container.addEventListener('click', async (event) => {
    const b = event.target.closest('button[data-action]');
    if (!b) return;
    const row = b.closest('[data-task]');
    const task = row?.dataset.task;
    b.disabled = true;
    try {
      switch (b.dataset.action) {
        case 'trigger': await trigger(task); break;
        case 'pause': await pause(task); break;
        case 'resume': await resume(task); break;
        case 'cancel': await cancelTask(task); break;
        case 'cancel-run': await cancelRun(Number(row.dataset.run), task); break;
        case 'edit': await edit(task); break;
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

export async function trigger(name) {
  await request(`/tasks/${enc(name)}/trigger`, { method: 'POST' });
  await done(`${name}: run requested`);
}

export async function resume(name) {
  await request(`/tasks/${enc(name)}/resume`, { method: 'POST' });
  await done(`${name}: resumed`);
}

export function pause(name) {
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

/** Cancels the run in progress of a task: the newest run, if it is still running. */
export async function cancelTask(name) {
  const runs = (await get(`/tasks/${enc(name)}/runs?limit=1`)).runs;
  const run = runs[0];
  if (!run || run.status !== 'RUNNING') {
    toast(`${name} has no run in progress`);
    return;
  }
  await cancelRun(run.id, name);
}

export async function cancelRun(id, name) {
  const yes = await confirmAction(
    `Cancel run ${id}?`,
    `The run of ${name} in progress is interrupted; the work it has done so far is lost.`,
    'Cancel the run');
  if (!yes) return;
  await request(`/runs/${id}/cancel`, { method: 'POST' });
  await done(`Run ${id} of ${name}: cancel requested`);
}

/** Edits a task with If-Match, so that two operators cannot overwrite each other's change. */
export async function edit(name) {
  const { body: task, response } = await request(`/tasks/${enc(name)}`);
  await editForm(task, response.headers.get('ETag'));
}

export function create() {
  return editForm(null, null);
}

const EDITABLE = ['handler', 'schedule', 'timeZone', 'timeoutSeconds', 'enabled', 'params'];

function editForm(task, etag) {
  const dialog = document.getElementById('edit-dialog');
  const form = document.getElementById('edit-form');
  const error = document.getElementById('edit-error');
  const isNew = task == null;
  document.getElementById('edit-title').textContent = isNew ? 'New task' : `Edit ${task.name}`;
  form.querySelector('[data-new-only]').hidden = !isNew;
  form.elements.name.required = isNew;
  form.elements.handler.readOnly = !isNew;
  document.getElementById('edit-delete').hidden = isNew;
  error.hidden = true;
  form.reset();
  const before = {
    handler: task?.handler ?? '',
    schedule: task?.schedule ?? '',
    timeZone: task?.timeZone ?? 'UTC',
    timeoutSeconds: task?.timeoutSeconds ?? 300,
    enabled: task?.enabled ?? true,
    params: task?.params ?? {},
  };
  form.elements.handler.value = before.handler;
  form.elements.schedule.value = before.schedule;
  form.elements.timeZone.value = before.timeZone;
  form.elements.timeoutSeconds.value = before.timeoutSeconds;
  form.elements.enabled.checked = before.enabled;
  form.elements.params.value = JSON.stringify(before.params, null, 2);

  return new Promise((resolve) => {
    const fail = (message) => {
      error.textContent = message;
      error.hidden = false;
    };
    const onSubmit = async (event) => {
      event.preventDefault();
      let params;
      try {
        params = JSON.parse(form.elements.params.value || '{}');
      } catch {
        fail('Parameters must be a JSON object.');
        return;
      }
      const after = {
        handler: form.elements.handler.value.trim(),
        schedule: form.elements.schedule.value.trim(),
        timeZone: form.elements.timeZone.value.trim() || 'UTC',
        timeoutSeconds: Number(form.elements.timeoutSeconds.value),
        enabled: form.elements.enabled.checked,
        params,
      };
      try {
        if (isNew) {
          await request('/tasks', { method: 'POST', body: { name: form.elements.name.value.trim(), ...after } });
        } else {
          // Only what changed: a field nobody touched is not written back.
          const patch = {};
          for (const key of EDITABLE) {
            if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) patch[key] = after[key];
          }
          if (Object.keys(patch).length === 0) {
            dialog.close();
            return;
          }
          await request(`/tasks/${enc(task.name)}`, {
            method: 'PATCH', body: patch, headers: etag ? { 'If-Match': etag } : {},
          });
        }
        dialog.close();
        await done(isNew ? `${form.elements.name.value.trim()}: created` : `${task.name}: saved`);
      } catch (e) {
        fail(e.status === 412
          ? 'Someone else changed this task meanwhile. Close and edit again to see their change.'
          : e.message);
      }
    };
    const onDelete = async () => {
      const yes = await confirmAction(
        `Delete ${task.name}?`,
        `The task, its schedule and its run history are deleted; a run in progress is stopped.`,
        'Delete the task');
      if (!yes) return;
      try {
        await request(`/tasks/${enc(task.name)}`, {
          method: 'DELETE', headers: etag ? { 'If-Match': etag } : {},
        });
        dialog.close();
        await done(`${task.name}: deleted`);
      } catch (e) {
        fail(e.message);
      }
    };
    const deleteButton = document.getElementById('edit-delete');
    form.addEventListener('submit', onSubmit);
    deleteButton.addEventListener('click', onDelete);
    dialog.addEventListener('close', () => {
      form.removeEventListener('submit', onSubmit);
      deleteButton.removeEventListener('click', onDelete);
      resolve();
    }, { once: true });
    dialog.showModal();
  });
}
