// What a task's state means, in words: shared by the board and the task's own page. Every state
// is told by its text (and a symbol drawn by the style sheet), never by colour alone.

import { localTime, parseTime, relative } from './format.js';

/**
 * What a task is doing. The API's state wins; older answers without one are derived from the
 * owner and the enabled flag.
 */
export function taskState(task) {
  if (task.state) return task.state;
  if (task.enabled === false) return 'DISABLED';
  return task.instanceId ? 'RUNNING' : 'WAITING';
}

/** The reason a pause was given, quoted, or nothing. */
function reason(text) {
  return text ? ` · “${text}”` : '';
}

/**
 * One line that explains the state: until when and why a task is paused, since when it is
 * quarantined, why it is stuck, why it is disabled, a queued trigger. {@code now}: the database
 * clock in ms (live.js serverNow), for "in 2 h".
 */
export function stateNote(task, now = Date.now()) {
  const parts = [];
  const s = taskState(task);
  const p = task.paused;
  if (p) {
    const until = parseTime(p.until);
    const when = until ? `until ${localTime(until)} (${relative((until.getTime() - now) / 1000)})` : 'until resumed';
    // A pause lets the run in progress finish: the state is still RUNNING then.
    parts.push(s === 'PAUSED' ? `${when}${reason(p.reason)}`
      : `paused ${when}: no new run after this one${reason(p.reason)}`);
  }
  if (s === 'QUARANTINED') {
    const since = parseTime(task.quarantinedAt);
    parts.push(`since ${since ? localTime(since) : '?'}: its runs were lost again and again; resume to run it`);
  }
  if (s === 'STUCK') {
    parts.push(`timed out, still executing on ${task.instanceId || 'its instance'}; cancel the run or wait`);
  }
  if (s === 'DISABLED') {
    parts.push(task.retired ? 'retired: no live instance defines it any more' : 'disabled in its definition');
  }
  if (s === 'COMPLETED') {
    parts.push(`a one-time task: it has run (its last run says how it ended)`);
  }
  if (s === 'WAITING_FOR_GROUP') {
    parts.push(`due, waiting for a slot of its concurrency group: ${task.waitingForGroup || task.concurrencyGroup || '?'}`);
  }
  if (task.triggerQueued) parts.push('a run is queued after this one');
  return parts.join(' · ');
}

