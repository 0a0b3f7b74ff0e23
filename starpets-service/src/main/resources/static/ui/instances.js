// Every instance the database knows: its state, how old its heartbeat is, its version, and the
// tasks it runs now (from the board's poll). A dead instance turns GONE and its tasks show up
// under the instances that took them over, flashing as they arrive.

import { get } from './api.js';
import { duration, localTime, parseTime } from './format.js';
import { state, subscribe, serverNow, movedFrom } from './live.js';

const POLL_MS = 2000;
const list = document.getElementById('instances');
let instances = [];
let timer = null;
let visible = false;
const cards = new Map(); // id -> { li, el, tasks: Set }

export function initInstances() {
  subscribe((change) => {
    if (change.tasks && visible) draw();
  });
  setInterval(() => visible && ages(), 1000);
}

export function showInstances() {
  visible = true;
  poll();
}

export function hideInstances() {
  visible = false;
  clearTimeout(timer);
}

async function poll() {
  clearTimeout(timer);
  try {
    instances = (await get('/instances')).instances;
    draw();
  } catch (e) {
    document.getElementById('instance-counts').textContent = `Could not read the instances: ${e.message}`;
  }
  if (visible) timer = setTimeout(poll, POLL_MS);
}

function element(tag, className, textValue) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (textValue !== undefined) e.textContent = textValue;
  return e;
}

function newCard(id) {
  const li = element('li', 'instance-card');
  li.dataset.instance = id;
  const title = element('h2');
  const name = element('span', 'instance-id', id);
  const badge = element('span', 'state');
  title.append(name, ' ', badge);
  const facts = element('dl');
  const fact = (label) => {
    const dd = element('dd');
    facts.append(element('dt', '', label), dd);
    return dd;
  };
  const el = {
    badge, heartbeat: fact('Heartbeat'), version: fact('Version'), host: fact('Host'),
    started: fact('Started'), count: fact('Running'), capacity: fact('Capacity'),
  };
  const tasksTitle = element('h3', 'visually-hidden', `Tasks ${id} runs`);
  el.tasks = element('ul', 'runs-here');
  li.append(title, facts, tasksTitle, el.tasks);
  return { li, el, tasks: new Set() };
}

function draw() {
  const seen = new Set();
  const byInstance = new Map();
  for (const task of state.tasks.values()) {
    if (!task.instanceId) continue;
    if (!byInstance.has(task.instanceId)) byInstance.set(task.instanceId, []);
    byInstance.get(task.instanceId).push(task);
  }
  for (const instance of instances) {
    seen.add(instance.id);
    let card = cards.get(instance.id);
    if (!card) {
      card = newCard(instance.id);
      cards.set(instance.id, card);
    }
    const { li, el } = card;
    li.dataset.state = instance.state;
    el.badge.textContent = instance.state;
    el.badge.className = `state state-${instance.state.toLowerCase()}`;
    el.version.textContent = instance.version;
    el.host.textContent = instance.host;
    const started = parseTime(instance.startedAt);
    el.started.textContent = localTime(started);
    card.heartbeatAt = Date.parse(instance.heartbeatAt);
    // The board's poll is fresher than /instances: what runs here is read from it.
    const running = (byInstance.get(instance.id) || []).sort((a, b) => a.name.localeCompare(b.name));
    el.count.textContent = `${running.length} ${running.length === 1 ? 'task' : 'tasks'}`;
    el.capacity.textContent = capacityText(instance);
    const names = new Set(running.map((t) => t.name));
    const items = running.map((task) => {
      const item = element('li');
      item.dataset.task = task.name;
      const link = element('a', '', task.name);
      link.href = `#/runs?task=${encodeURIComponent(task.name)}`;
      item.append(link);
      const from = movedFrom(task);
      if (from) item.append(element('span', 'moved', ` from ${from}`));
      if (card.tasks.size && !card.tasks.has(task.name)) item.classList.add('flash');
      return item;
    });
    if (!items.length) items.push(element('li', 'idle', instance.state === 'GONE' ? 'nothing (gone)' : 'nothing'));
    el.tasks.replaceChildren(...items);
    card.tasks = names;
  }
  for (const [id, card] of cards) {
    if (!seen.has(id)) {
      card.li.remove();
      cards.delete(id);
    }
  }
  // Live instances first, then the gone ones, each by id (as /instances orders them).
  list.append(...instances.map((i) => cards.get(i.id).li));
  const live = instances.filter((i) => i.state !== 'GONE').length;
  document.getElementById('instance-counts').textContent =
    `${live} live, ${instances.length - live} gone`;
  ages();
}

// Units its live handlers use (each run its task's cost) of its capacity, at its last heartbeat.
export function capacityText(instance) {
  const used = instance.runsUsed ?? 0;
  if (!instance.capacity) return `${used} used (no limit)`;
  return `${used} / ${instance.capacity} used${used >= instance.capacity ? ' (full)' : ''}`;
}

function ages() {
  const now = serverNow();
  for (const card of cards.values()) {
    if (!card.heartbeatAt) continue;
    const age = (now - card.heartbeatAt) / 1000;
    card.el.heartbeat.textContent = `${duration(Math.max(0, age))} ago`;
  }
}
