// tessera console: progressive enhancement only. Every page works without this file; with
// it, forms that change state ask for confirmation, and UTC instants show in local time too.
'use strict';

document.addEventListener('submit', (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  const question = form.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

document.addEventListener('DOMContentLoaded', () => {
  for (const el of document.querySelectorAll('time[datetime]')) {
    const at = new Date(el.getAttribute('datetime'));
    if (Number.isNaN(at.getTime())) continue;
    // Keep the UTC text on screen; the local time is in the tooltip.
    el.title = `${at.toLocaleString()} (local time)`;
  }
});
