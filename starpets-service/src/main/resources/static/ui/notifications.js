// A task's notifications on its page (GET /tasks/{name}/notifications): what it is notified of and
// where (the webhook as scheme and host only), and what was sent, when, after how many attempts.

import { get, enc } from './api.js';
import { localTime, parseTime } from './format.js';

const LIMIT = 20;

const el = {
  settings: document.getElementById('task-notify-settings'),
  body: document.getElementById('task-notifications-body'),
  empty: document.getElementById('task-notifications-empty'),
};

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text == null ? '' : String(text);
  return td;
}

function when(text) {
  const t = text ? parseTime(text) : null;
  return t ? localTime(t) : '';
}

/** Loads and draws the notifications of {@code name}; {@code stillShown} says whether to draw them. */
export async function loadNotifications(name, stillShown) {
  const answer = await get(`/tasks/${enc(name)}/notifications?limit=${LIMIT}`);
  if (!stillShown()) return;
  const s = answer.settings;
  el.settings.textContent = s
    ? `Told of ${s.on.length ? s.on.join(', ') : 'nothing'} at ${s.webhook} (${s.format}, ${
        s.source === 'task' ? "the task's own" : 'the service-wide default'})`
    : 'Not notified: the task has no notify and the service no NOTIFY_WEBHOOK_URL.';
  const rows = answer.notifications.map((n) => {
    const tr = document.createElement('tr');
    tr.append(
      cell(n.event),
      cell(n.runId),
      cell(n.state),
      cell(n.attempts),
      cell(n.state === 'SENT' ? when(n.sentAt) : n.state === 'PENDING' ? `next ${when(n.nextAttemptAt)}` : ''),
      cell(n.lastError),
    );
    return tr;
  });
  el.body.replaceChildren(...rows);
  el.empty.hidden = rows.length > 0;
}
