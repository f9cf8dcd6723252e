// onramp's shared page script: calls to onramp's own REST API from a
// signed-in page, and showing its RFC 9457 problems next to the fields at
// fault. Pages work without it where they can (plain forms); the portal's
// live parts need it.
"use strict";

const onramp = (() => {
  function csrfToken() {
    const m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }

  // fetch() against /v1 with the session cookie and the CSRF token. Resolves
  // to {ok, status, body, headers}; a problem+json body arrives parsed.
  async function api(method, path, body, extraHeaders) {
    const headers = Object.assign({ "Accept": "application/json" }, extraHeaders || {});
    if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken();
    const init = { method, headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const resp = await fetch(path, init);
    let parsed = null;
    const type = resp.headers.get("Content-Type") || "";
    if (type.includes("json")) parsed = await resp.json();
    return { ok: resp.ok, status: resp.status, body: parsed, headers: resp.headers };
  }

  // Clears the field errors a previous showProblem left in `form`.
  function clearProblem(form) {
    form.querySelectorAll(".field.invalid").forEach((f) => f.classList.remove("invalid"));
    form.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
    form.querySelectorAll(".error[data-onramp]").forEach((e) => e.remove());
    const alert = form.querySelector(".alert[data-onramp]");
    if (alert) alert.remove();
  }

  // Marks each field a problem names (`errors[].field` = the input's name)
  // and puts the rest in one alert at the top of the form.
  function showProblem(form, problem) {
    clearProblem(form);
    const loose = [];
    for (const e of (problem && problem.errors) || []) {
      const input = form.querySelector(`[name="${CSS.escape(e.field)}"]`);
      if (!input) { loose.push(`${e.field}: ${e.detail}`); continue; }
      const field = input.closest(".field") || input.parentElement;
      field.classList.add("invalid");
      input.setAttribute("aria-invalid", "true");
      const p = document.createElement("p");
      p.className = "error";
      p.dataset.onramp = "1";
      p.id = `${input.id || input.name}-error`;
      p.textContent = e.detail;
      input.setAttribute("aria-describedby", p.id);
      field.appendChild(p);
    }
    if (loose.length || !(problem && problem.errors && problem.errors.length)) {
      const a = document.createElement("p");
      a.className = "alert";
      a.dataset.onramp = "1";
      a.setAttribute("role", "alert");
      const head = (problem && (problem.detail || problem.title)) || "The request failed.";
      a.textContent = loose.length ? `${head} ${loose.join("; ")}` : head;
      form.prepend(a);
    }
  }

  return { api, csrfToken, showProblem, clearProblem };
})();
window.onramp = onramp;
