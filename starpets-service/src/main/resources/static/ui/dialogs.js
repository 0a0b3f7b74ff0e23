// Modal dialogs (<dialog>: focus is trapped and Escape closes them) and a short-lived message.

for (const button of document.querySelectorAll('dialog [data-close]')) {
  button.addEventListener('click', () => button.closest('dialog').close());
}

/** Asks before work is destroyed; resolves true only on an explicit yes. */
export function confirmAction(title, text, yes) {
  const dialog = document.getElementById('confirm-dialog');
  const form = document.getElementById('confirm-form');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-yes').textContent = yes;
  return new Promise((resolve) => {
    const onSubmit = (event) => {
      event.preventDefault();
      dialog.close('yes');
    };
    form.addEventListener('submit', onSubmit);
    dialog.addEventListener('close', () => {
      form.removeEventListener('submit', onSubmit);
      resolve(dialog.returnValue === 'yes');
    }, { once: true });
    dialog.returnValue = '';
    dialog.showModal();
    // The safe choice has the focus: Enter alone does not destroy anything.
    dialog.querySelector('[data-close]').focus();
  });
}

let toastTimer = null;

export function toast(message, kind = 'info') {
  const box = document.getElementById('toast');
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 6000);
}
