// kura: progressive enhancement only. Every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Copy buttons beside code snippets.
  for (const button of document.querySelectorAll("button.copy")) {
    const code = button.parentElement.querySelector("pre");
    if (!code || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      await navigator.clipboard.writeText(code.innerText);
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = "Copy"; }, 1500);
    });
  }
  // Branch and tag switchers: go as soon as one is chosen (the form's button does it without JS).
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.requestSubmit());
    const button = select.form.querySelector("button");
    if (button) button.hidden = true;
  }
  // Typed confirmation: the danger button stays disabled until the repo id is typed.
  for (const input of document.querySelectorAll("input[data-confirm]")) {
    const button = input.form.querySelector("button[type=submit]");
    const check = () => { button.disabled = input.value !== input.dataset.confirm; };
    input.addEventListener("input", check);
    check();
  }
});
