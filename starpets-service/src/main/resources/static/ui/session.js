// Who is looking: the role the server gives the token entered in this tab. Every read needs a token
// (a viewer's at least); operator buttons are drawn only once GET /whoami says "operator".

import { get, setToken, token, ApiError } from './api.js';

export const session = { role: 'anonymous', name: null };
const listeners = new Set();

export function onRoleChange(listener) {
  listeners.add(listener);
}

export function isOperator() {
  return session.role === 'operator';
}

async function loadRole() {
  try {
    const me = await get('/whoami');
    session.role = me.role || 'anonymous';
    session.name = me.name || null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401 && token()) {
      setToken(null);
      session.role = 'anonymous';
      session.name = null;
      showRole();
      throw new Error('The token was not accepted.');
    }
    session.role = 'anonymous';
    session.name = null;
  }
  showRole();
}

function showRole() {
  const badge = document.getElementById('role');
  badge.dataset.role = session.role;
  badge.textContent = session.role === 'anonymous' ? 'signed out' : session.role;
  badge.title = session.role === 'anonymous'
    ? 'Not signed in: sign in with a token to read' : `Signed in as ${session.name || 'someone'} (${session.role})`;
  if (session.name && session.role !== 'anonymous') badge.textContent += ` · ${session.name}`;
  document.getElementById('sign-in').hidden = !!token();
  document.getElementById('sign-out').hidden = !token();
  for (const listener of listeners) listener(session.role);
}

export function initSession() {
  const dialog = document.getElementById('token-dialog');
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  const error = document.getElementById('token-error');
  document.getElementById('sign-in').addEventListener('click', () => {
    error.hidden = true;
    input.value = '';
    dialog.showModal();
  });
  document.getElementById('sign-out').addEventListener('click', async () => {
    setToken(null);
    await loadRole();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    try {
      await loadRole();
      dialog.close();
      if (session.role !== 'operator') {
        error.hidden = true;
      }
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  });
  return loadRole().catch(() => {});
}
