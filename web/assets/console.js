// The ops console's script. Every page works without it (plain forms); it
// only asks before the actions that cannot be undone (reject, breaking a
// claim), and submits the queue's filters when one changes.
"use strict";

document.addEventListener("submit", (ev) => {
  const button = ev.submitter;
  const question = button && button.dataset.confirm;
  if (question && !window.confirm(question)) ev.preventDefault();
});

document.querySelectorAll("form.console-filters select").forEach((select) => {
  select.addEventListener("change", () => select.form.requestSubmit());
});
