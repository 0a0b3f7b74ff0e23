// The task form: create a task (POST /tasks) or edit one created over the API (PATCH, a JSON merge
// patch of the fields changed, with If-Match: the version the form was filled from, so that two
// operators cannot overwrite each other's change).

import { request, enc } from './api.js';
import { toast } from './dialogs.js';
import { refresh, state } from './live.js';

/** Handlers every instance has (README, "Task handlers"), offered beside those the tasks use. */
const BUILT_IN = ['http', 'sleep', 'cpu', 'prune-history', 'exec', 'sql'];

const dialog = document.getElementById('edit-dialog');
const form = document.getElementById('edit-form');
const error = document.getElementById('edit-error');
const FIELDS = ['handler', 'schedule', 'timeZone', 'timeoutSeconds', 'enabled', 'params',
  'maxAttempts', 'initialBackoffSeconds', 'misfire', 'jitterSeconds', 'overlap', 'maxConcurrent', 'cost'];

export async function edit(name) {
  const { body: task, response } = await request(`/tasks/${enc(name)}`);
  await open(task, response.headers.get('ETag'));
}

export function create() {
  return open(null, null);
}

function value(name) {
  const element = form.elements[name];
  return element.type === 'checkbox' ? String(element.checked) : element.value.trim();
}

function fill(task) {
  const retry = task?.retry;
  const values = {
    name: '',
    handler: task?.handler ?? '',
    schedule: task?.schedule ?? '',
    timeZone: task?.timeZone ?? 'UTC',
    timeoutSeconds: task?.timeoutSeconds ?? 300,
    params: JSON.stringify(task?.params ?? {}, null, 2),
    maxAttempts: retry?.maxAttempts ?? '',
    initialBackoffSeconds: retry?.initialBackoffSeconds ?? '',
    misfire: task?.misfire ?? 'RUN_ONCE',
    jitterSeconds: task?.jitterSeconds || '',
    overlap: task?.overlap ?? 'SKIP',
    maxConcurrent: task?.maxConcurrent ?? '',
    cost: task?.cost ?? 1,
  };
  for (const [key, v] of Object.entries(values)) form.elements[key].value = v;
  form.elements.enabled.checked = task?.enabled ?? true;
  const handlers = new Set([...BUILT_IN, ...[...state.tasks.values()].map((t) => t.handler)]);
  document.getElementById('handler-names')
    .replaceChildren(...[...handlers].filter(Boolean).sort().map((h) => new Option(h)));
}

function number(name) {
  const text = value(name);
  return text === '' ? null : Number(text);
}

/** The definition as the form says it, in the API's field names. */
function definition(task) {
  let params;
  try {
    params = JSON.parse(value('params') || '{}');
  } catch {
    throw new Error('Parameters must be a JSON object.');
  }
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new Error('Parameters must be a JSON object.');
  }
  const attempts = number('maxAttempts');
  const backoff = number('initialBackoffSeconds');
  // A retry policy is an object: an edit keeps what the form does not show (multiplier, maximum).
  let retry = null;
  if (attempts != null) {
    retry = { ...(task?.retry || {}), maxAttempts: attempts };
    delete retry.initialBackoffSeconds;
    if (backoff != null) retry.initialBackoffSeconds = backoff;
  }
  return {
    handler: value('handler'),
    schedule: value('schedule'),
    timeZone: value('timeZone') || 'UTC',
    timeoutSeconds: number('timeoutSeconds'),
    enabled: form.elements.enabled.checked,
    params,
    retry,
    misfire: value('misfire'),
    jitterSeconds: number('jitterSeconds') ?? 0,
    overlap: value('overlap'),
    // Only overlap ALLOW has a limit of its own; any other policy with one is refused (400 invalid_task).
    maxConcurrent: value('overlap') === 'ALLOW' ? number('maxConcurrent') : null,
    cost: number('cost') ?? 1,
  };
}

/** Only what the operator changed: a field nobody touched is not written back. */
function patchOf(task, initial) {
  const after = definition(task);
  const touched = FIELDS.filter((f) => value(f) !== initial[f]);
  const patch = {};
  for (const field of touched) {
    if (field === 'maxAttempts' || field === 'initialBackoffSeconds') patch.retry = after.retry;
    else patch[field] = after[field];
  }
  // The policy and its limit go together: leaving ALLOW drops the limit (null: removed by the merge patch).
  if ('overlap' in patch || 'maxConcurrent' in patch) {
    patch.overlap = after.overlap;
    patch.maxConcurrent = after.maxConcurrent;
  }
  return patch;
}

function open(task, etag) {
  const isNew = task == null;
  document.getElementById('edit-title').textContent = isNew ? 'New task' : `Edit ${task.name}`;
  for (const e of form.querySelectorAll('[data-new-only]')) e.hidden = !isNew;
  form.elements.name.required = isNew;
  error.hidden = true;
  form.reset();
  fill(task);
  const initial = Object.fromEntries(FIELDS.map((f) => [f, value(f)]));

  return new Promise((resolve) => {
    const fail = (message) => {
      error.textContent = message;
      error.hidden = false;
    };
    const onSubmit = async (event) => {
      event.preventDefault();
      error.hidden = true;
      try {
        if (isNew) {
          const body = { name: value('name'), ...definition(null) };
          if (body.retry == null) delete body.retry;
          await request('/tasks', { method: 'POST', body });
        } else {
          const patch = patchOf(task, initial);
          if (Object.keys(patch).length === 0) {
            dialog.close();
            return;
          }
          await request(`/tasks/${enc(task.name)}`, {
            method: 'PATCH', body: patch, headers: etag ? { 'If-Match': etag } : {},
          });
        }
        dialog.close();
        toast(isNew ? `${value('name')}: created` : `${task.name}: saved`);
        refresh();
        // A new task is shown on its own page: its definition, its first runs, its trail.
        if (isNew) location.hash = `#/task/${encodeURIComponent(value('name'))}`;
      } catch (e) {
        fail(e.status === 412
          ? 'Someone else changed this task meanwhile: nothing was saved. Close and edit again to see their change.'
          : e.message);
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
