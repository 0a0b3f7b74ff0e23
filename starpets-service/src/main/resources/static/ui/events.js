// One row of a task's audit trail: when, who (a token's name, config:<instance> for a configuration
// sync, scheduler:<instance> for what the scheduler did by itself), what, and which fields changed.

import { localTime, parseTime } from './format.js';
import { text } from './runrows.js';

const ACTIONS = {
  CREATED: 'created the task', UPDATED: 'changed the task', DELETED: 'deleted the task',
  PAUSED: 'paused it', RESUMED: 'resumed it', TRIGGERED: 'triggered a run', CANCELLED: 'cancelled a run',
  QUARANTINED: 'quarantined it', RETIRED: 'retired it',
  RUN_REQUESTED: 'asked for a one-off run', RUN_WITHDRAWN: 'cancelled a pending run',
  BACKFILL_REQUESTED: 'asked for a backfill', BACKFILL_CANCELLED: 'cancelled a backfill',
};

function shown(value) {
  if (value === undefined || value === null) return '—';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** The fields whose value differs between before and after, as "field: old → new". */
function changes(before, after) {
  const keys = new Set([...Object.keys(before || {}), ...Object.keys(after || {})]);
  const items = [];
  for (const key of keys) {
    const b = before?.[key];
    const a = after?.[key];
    if (JSON.stringify(b) === JSON.stringify(a)) continue;
    const li = document.createElement('li');
    li.dataset.field = key;
    li.append(text('code', key), ': ');
    if (before) li.append(text('del', shown(b)), ' → ');
    li.append(text('ins', shown(a)));
    items.push(li);
  }
  return items;
}

export function describeEvent(event) {
  const li = document.createElement('li');
  li.dataset.event = event.id;
  li.dataset.action = event.action;
  const at = parseTime(event.at);
  const time = text('time', localTime(at));
  time.setAttribute('datetime', event.at);
  time.title = at.toString();
  const actor = text('span', event.actor || 'unknown', 'actor');
  if (event.actor?.startsWith('config:')) actor.title = 'The configuration files, synced by this instance at its start';
  if (event.actor?.startsWith('scheduler:')) actor.title = 'The scheduler itself, on this instance';
  li.append(time, ' ', actor, ' ', text('span', ACTIONS[event.action] || event.action.toLowerCase(), 'event-action'));
  if (event.detail) li.append(' · ', text('span', event.detail, 'detail'));
  // A pause's "after" repeats its reason (the detail); its end time is what it adds.
  const list = event.action === 'PAUSED'
    ? (event.after?.pausedUntil ? [text('li', `until ${localTime(parseTime(event.after.pausedUntil))}`)] : [])
    : event.action === 'UPDATED' || event.action === 'CREATED' ? changes(event.before, event.after) : [];
  if (list.length) {
    const ul = document.createElement('ul');
    ul.className = 'changes';
    ul.append(...list);
    if (event.action === 'CREATED') {
      const d = document.createElement('details');
      d.append(text('summary', 'Definition'), ul);
      li.append(d);
    } else {
      li.append(ul);
    }
  }
  return li;
}
