// The customer portal's pages. Each is a client of onramp's public REST API
// (`onramp.api`: the session cookie plus the CSRF token), so everything here
// a customer can also script. The page to run is named by
// <div id="portal-page" data-page="…">. Text from the API is only ever set
// with textContent, never parsed as HTML.
"use strict";

(() => {
  // Set once per page load: a test (or a curious person) can tell that a
  // live update came without the page reloading.
  window.portalLoadMarker = `${Date.now()}-${Math.random().toString(36).slice(2)}`;

  const $ = (sel, root) => (root || document).querySelector(sel);
  const kinds = () => window.portalKinds || [];
  const kindOf = (k) => kinds().find((x) => x.kind === k);
  const kindLabel = (k) => (kindOf(k) ? kindOf(k).label : k);
  const words = (s) => String(s || "").replace(/_/g, " ");

  // el("td", {class: "x"}, "text", otherNode)
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
  }

  function timeEl(iso) {
    return el("time", { datetime: iso }, when(iso));
  }

  function badge(state) {
    return el("span", { class: `badge state-${state}` }, words(state));
  }

  const WAITING = {
    customer: "you", csp: "the cloud provider", ops: "the operator's staff",
    onramp: "onramp", router: "the provider edge router", nobody: "nobody",
  };

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function problemText(r) {
    const p = r.body || {};
    return p.detail || p.title || `The request failed (HTTP ${r.status}).`;
  }

  function showAlert(node, text) {
    node.textContent = text;
    node.hidden = !text;
  }

  // Every item of a paged list, following next_cursor.
  async function all(path) {
    const items = [];
    let url = path;
    for (let i = 0; i < 50; i++) {
      const r = await onramp.api("GET", url);
      if (!r.ok) throw r;
      items.push(...r.body.items);
      if (!r.body.next_cursor) break;
      url = `${path}${path.includes("?") ? "&" : "?"}cursor=${encodeURIComponent(r.body.next_cursor)}`;
    }
    return items;
  }

  // A <dialog> asking to confirm; resolves to the button's value.
  function ask(dialog) {
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true });
      dialog.returnValue = "";
      dialog.showModal();
    });
  }

  // rows: [label, value] or [label, value, key]; a key marks the <dd> as
  // data-fact=key, for whoever needs one value among them.
  function facts(dl, rows) {
    dl.replaceChildren();
    for (const [k, v, key] of rows) {
      if (v === undefined || v === null || v === "") continue;
      dl.append(el("dt", {}, k), el("dd", { "data-fact": key }, String(v)));
    }
  }

  // ===== the connector list =====

  async function connectorsPage() {
    const params = new URLSearchParams(location.search);
    const kindSelect = $("#filter-kind");
    for (const k of kinds()) kindSelect.append(el("option", { value: k.kind }, k.label));
    for (const [name, sel] of [["state", "#filter-state"], ["kind", "#filter-kind"], ["waiting_on", "#filter-waiting"]]) {
      if (params.get(name)) $(sel).value = params.get(name);
    }
    const query = new URLSearchParams();
    for (const name of ["state", "kind", "waiting_on"]) {
      if (params.get(name)) query.set(name, params.get(name));
    }
    const tbody = $("#connectors tbody");
    const status = $("#list-status");
    const more = $("#more");
    let cursor = null;
    let shown = 0;
    async function load() {
      const q = new URLSearchParams(query);
      q.set("limit", "50");
      if (cursor) q.set("cursor", cursor);
      const r = await onramp.api("GET", `/v1/connectors?${q}`);
      if (!r.ok) {
        status.textContent = problemText(r);
        status.className = "alert";
        return;
      }
      for (const c of r.body.items) {
        shown += 1;
        tbody.append(el("tr", { "data-id": c.id },
          el("td", {}, el("a", { href: `/portal/connectors/${c.id}` }, el("code", {}, c.id.slice(0, 8)))),
          el("td", {}, kindLabel(c.kind)),
          el("td", {}, c.location),
          el("td", {}, badge(c.state)),
          el("td", { class: c.waiting_on === "customer" ? "waiting-you" : "" }, WAITING[c.waiting_on] || c.waiting_on),
          el("td", {}, timeEl(c.created_at))));
      }
      cursor = r.body.next_cursor || null;
      more.hidden = !cursor;
      const filtered = [...query.keys()].length > 0;
      status.textContent = shown === 0
        ? (filtered ? "No connectors match these filters." : "No connectors yet. Order one to get started.")
        : `${shown} connector${shown === 1 ? "" : "s"}${cursor ? " so far" : ""}${filtered ? " matching the filters" : ""}.`;
    }
    more.addEventListener("click", () => load());
    await load();
  }

  // ===== ordering =====

  async function optionsFor(field) {
    if (field.options) return field.options;
    const src = field.optionsFrom;
    const r = await onramp.api("GET", src.path);
    if (!r.ok) return [];
    return (r.body.items || []).filter(src.filter || (() => true)).map((x) => [src.value(x), src.label(x)]);
  }

  function fieldNode(f) {
    const id = `f-${f.name}`;
    const hintId = f.hint ? `${id}-hint` : null;
    let input;
    if (f.type === "select") {
      // A required choice always has a value (the default, else the first
      // option), so the API can judge the fields typed so far.
      input = el("select", { id, name: f.name, required: f.required, "aria-describedby": hintId },
        f.required ? null : el("option", { value: "" }, "None"));
      optionsFor(f).then((opts) => {
        for (const [v, l] of opts) input.append(el("option", { value: v }, l));
        if (f.default && opts.some(([v]) => v === f.default)) input.value = f.default;
      });
    } else if (f.type === "checkbox") {
      input = el("input", { id, name: f.name, type: "checkbox", "aria-describedby": hintId });
      input.checked = f.checked !== false;
      return el("div", { class: "field checkbox" },
        el("label", { for: id }, input, " ", f.label),
        f.hint ? el("p", { class: "hint", id: hintId }, f.hint) : null);
    } else {
      input = el("input", {
        id, name: f.name, type: f.type === "number" ? "number" : "text", required: f.required,
        inputmode: f.inputmode, placeholder: f.placeholder, min: f.min, max: f.max,
        autocomplete: "off", spellcheck: "false", "aria-describedby": hintId,
      });
    }
    return el("div", { class: "field" },
      el("label", { for: id }, f.label),
      input,
      f.hint ? el("p", { class: "hint", id: hintId }, f.hint) : null);
  }

  function orderBody(kind, form) {
    const body = { kind: kind.kind };
    for (const f of kind.fields) {
      const input = form.elements[f.name];
      if (f.type === "checkbox") { body[f.name] = input.checked; continue; }
      const v = input.value.trim();
      if (v === "") continue;
      body[f.name] = f.type === "number" && /^-?\d+$/.test(v) ? Number(v) : v;
    }
    return body;
  }

  function renderPlan(plan) {
    const rows = [["Kind", kindLabel(plan.kind)], ["Location", plan.location]];
    const p = plan.peering;
    if (p) {
      rows.push(["Router", `${p.pe} ${p.port}`], ["VLAN", p.vlan], ["Peering subnet", p.subnet],
        ["onramp's address", p.onramp_address], ["Provider's address", p.csp_address],
        ["Your ASN (onramp's side)", `${p.customer_asn}${p.asn_source === "allocated" ? " (allocated)" : ""}`],
        ["Provider's ASN", p.csp_asn]);
    }
    const a = plan.azure;
    if (a) {
      rows.push(["Circuit", `${a.service_key} at ${a.peering_location}, ${a.bandwidth_mbps} Mbps`],
        ["S-tag / VLAN", `${a.s_tag} / ${a.vlan_id}`], ["Peer ASN", a.peer_asn],
        ["Primary leg", `${a.primary.pe} ${a.primary.port} ${a.primary.subnet}`],
        ["Secondary leg", `${a.secondary.pe} ${a.secondary.port} ${a.secondary.subnet}`]);
    }
    facts($("#plan-resources"), rows);
    $("#plan-steps").replaceChildren(...plan.steps.map((s) => el("li", {}, s)));
    const details = $("#plan-details");
    details.replaceChildren();
    for (const c of plan.csp_calls || []) {
      details.append(el("h4", {}, `${c.service} ${c.operation}`), el("pre", {}, JSON.stringify(c.request, null, 2)));
    }
    for (const ch of plan.router_changes || []) {
      details.append(el("h4", {}, `${ch.pe} (${ch.platform}) ${ch.operation}${ch.leg ? `, ${ch.leg} leg` : ""}`),
        el("pre", {}, ch.config_xml));
    }
  }

  async function orderPage() {
    const form = $("#order-form");
    const choices = $("#kind-choices");
    const fields = $("#order-fields");
    const status = $("#check-status");
    const planBox = $("#plan");
    const wanted = new URLSearchParams(location.search).get("kind");
    let kind = kindOf(wanted) || kinds()[0];
    let touched = new Set();
    let submitted = false;
    let seq = 0;
    let timer = null;
    let plan = null;

    for (const k of kinds()) {
      const id = `kind-${k.kind}`;
      const radio = el("input", { type: "radio", name: "kind-choice", id, value: k.kind });
      radio.checked = k === kind;
      radio.addEventListener("change", () => { kind = k; render(); });
      choices.append(el("div", { class: "kind-choice" },
        radio, el("label", { for: id }, el("strong", {}, k.label), el("span", { class: "hint" }, k.summary))));
    }

    function render() {
      fields.replaceChildren(...kind.fields.map(fieldNode));
      onramp.clearProblem(form);
      touched = new Set();
      submitted = false;
      plan = null;
      planBox.hidden = true;
      status.textContent = "";
    }

    // Checks the order with the API's own rules: a dry run creates nothing.
    async function check() {
      const mine = ++seq;
      const r = await onramp.api("POST", "/v1/connectors?dry_run=true", orderBody(kind, form));
      if (mine !== seq) return null; // a newer check is on its way
      if (r.ok) {
        onramp.clearProblem(form);
        plan = r.body;
        status.textContent = "The order is valid.";
        return plan;
      }
      plan = null;
      const errors = (r.body && r.body.errors) || [];
      const shown = submitted ? errors : errors.filter((e) => touched.has(e.field));
      if (shown.length || !errors.length) {
        onramp.showProblem(form, Object.assign({}, r.body, { errors: shown }));
      } else {
        onramp.clearProblem(form);
      }
      const rest = errors.filter((e) => !shown.includes(e));
      status.textContent = rest.length
        ? `Still to fill in or fix: ${rest.map((e) => labelOf(e.field)).join(", ")}.`
        : (shown.length ? `${shown.length} field${shown.length === 1 ? "" : "s"} to fix.` : "");
      return null;
    }

    function labelOf(name) {
      const f = kind.fields.find((x) => x.name === name);
      return f ? f.label.replace(" (optional)", "") : name;
    }

    function changed(e) {
      if (!e.target.name || e.target.name === "kind-choice") return;
      touched.add(e.target.name);
      planBox.hidden = true;
      clearTimeout(timer);
      timer = setTimeout(check, 350);
    }
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);

    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      submitted = true;
      clearTimeout(timer);
      status.textContent = "Checking the order…";
      const ok = await check();
      if (!ok) {
        const bad = form.querySelector("[aria-invalid=\"true\"]") || form.querySelector(".alert");
        if (bad) bad.focus();
        return;
      }
      renderPlan(ok);
      orderKey = uuid();
      planBox.hidden = false;
      planBox.focus();
    });

    $("#change").addEventListener("click", () => {
      planBox.hidden = true;
      const first = form.querySelector("input, select");
      if (first) first.focus();
    });

    const confirmBtn = $("#confirm");
    // One key per reviewed plan: a double click or a retry orders once.
    let orderKey = uuid();
    confirmBtn.addEventListener("click", async () => {
      confirmBtn.disabled = true;
      status.textContent = "Placing the order…";
      const r = await onramp.api("POST", "/v1/connectors", orderBody(kind, form),
        { "Idempotency-Key": orderKey });
      confirmBtn.disabled = false;
      if (r.status === 202) {
        location.assign(`/portal/connectors/${r.body.id}`);
        return;
      }
      planBox.hidden = true;
      submitted = true;
      onramp.showProblem(form, r.body);
      status.textContent = "The order was refused; nothing was ordered.";
      const bad = form.querySelector("[aria-invalid=\"true\"]") || form.querySelector(".alert");
      if (bad) { if (!bad.hasAttribute("tabindex") && bad.tagName === "P") bad.tabIndex = -1; bad.focus(); }
    });

    render();
  }

  // ===== KPI charts =====

  // The "Traffic" / "Latency" card: reads `path` (a metrics endpoint) for
  // the period chosen, draws the charts `specs(metrics)` describes
  // ([{metric, title, unit, series: [{label, points}], threshold?}]), and
  // reads again every 15 s while the page is open.
  function kpiPanel(path, specs) {
    const box = $("#kpi-charts");
    const status = $("#kpi-status");
    const range = $("#kpi-range");
    let timer = null;
    async function load() {
      clearTimeout(timer);
      const end = new Date();
      const start = new Date(end.getTime() - Number(range.value) * 1000);
      const q = `start=${encodeURIComponent(start.toISOString())}&end=${encodeURIComponent(end.toISOString())}`;
      const r = await onramp.api("GET", `${path}?${q}`);
      if (!r.ok) {
        box.replaceChildren();
        status.textContent = r.status === 503
          ? `Measurements are not available right now: ${(r.body && r.body.detail) || "the time-series database did not answer"}.`
          : problemText(r);
      } else {
        status.textContent = `Measured by the provider edge routers; updated ${end.toLocaleTimeString()}, every 15 seconds.`;
        box.replaceChildren(...specs(r.body).map((c) => {
          const f = el("figure", { "data-metric": c.metric });
          onrampCharts.lineChart(f, { ...c, start: start.getTime() / 1000, end: end.getTime() / 1000,
            step: r.body.step_seconds });
          return f;
        }));
      }
      box.dataset.loaded = String(Date.now());
      timer = setTimeout(load, 15000);
    }
    range.addEventListener("change", load);
    window.addEventListener("pagehide", () => clearTimeout(timer));
    return { load };
  }

  /// The series of `metrics` named `metric`, labelled by `label(s)`.
  function seriesOf(metrics, names, label) {
    return metrics.series.filter((s) => names.includes(s.metric))
      .map((s) => ({ label: label(s), points: s.points }));
  }

  function connectorCharts(m) {
    const where = (s) => (s.leg ? `${s.pe} (${s.leg})` : s.pe);
    return [
      { metric: "bitrate", title: "Bitrate", unit: "bit/s",
        series: seriesOf(m, ["in_bps", "out_bps"], (s) => `${s.metric === "in_bps" ? "in" : "out"} ${where(s)}`) },
      { metric: "bgp", title: "BGP session", unit: "boolean",
        series: seriesOf(m, ["bgp_established"], where) },
      { metric: "prefixes", title: "Routes received", unit: "",
        series: seriesOf(m, ["prefixes_received"], where) },
    ];
  }

  // ===== one connector =====

  // The states in which a connector's settings may change (PATCH).
  const EDITABLE = ["active", "down", "degraded"];
  const SETTING_LABELS = {
    bandwidth: "bandwidth", prefix_limit: "prefix limit", bfd: "BFD", description: "description",
    rotate_bgp_key: "BGP key", bgp_key: "BGP key",
  };

  // The connector page's "Edit settings" form: the changed fields are sent
  // as PATCH /v1/connectors/{id}?dry_run=true, whose plan (per PE, each
  // value the change replaces on the running configuration) is shown; "Apply
  // change" sends the same body with If-Match: the ETag of the connector as
  // it was read when the plan was asked for. `lastMessage()` is the newest
  // timeline message; `shown(c)` puts a connector the API answered on the
  // page.
  function settingsEditor(id, lastMessage, shown) {
    const box = $("#settings");
    const form = $("#settings-form");
    const busy = $("#settings-busy");
    const result = $("#settings-result");
    const err = $("#settings-error");
    const status = $("#settings-status");
    const planBox = $("#settings-plan");
    const routers = $("#settings-plan-routers");
    const applyBtn = $("#settings-apply");
    const fixed = $("#s-bandwidth-fixed");
    const bwHint = $("#s-bandwidth-hint");
    const bwLabel = $("label[for=s-bandwidth]") || $("#s-bandwidth-field label");
    const { bandwidth: bw, prefix_limit: limit, bfd, description: desc, rotate_bgp_key: rotate } = form.elements;
    const rotateField = $("#s-rotate-field");
    let current = null; // the connector as last read
    let etag = null; // the ETag of that read
    let dirty = false; // edited since the inputs were filled from `current`
    let plan = null; // {body, etag} of the plan on show
    let applied = null; // the body of an applied change, until it settles

    const settingsOf = (c) => (kindOf(c.kind) || {}).settings || {};

    function fill(c) {
      const s = settingsOf(c);
      if (s.bandwidths) {
        const opts = s.bandwidths.some(([v]) => v === c.bandwidth)
          ? s.bandwidths : [[c.bandwidth, c.bandwidth], ...s.bandwidths];
        bw.replaceChildren(...opts.map(([v, l]) => el("option", { value: v }, l)));
        bw.value = c.bandwidth;
        bw.hidden = false;
        bw.disabled = false;
        fixed.hidden = true;
        bwLabel.htmlFor = "s-bandwidth";
        bwHint.textContent = "The rate onramp's router lets through, within the interconnect's capacity.";
      } else {
        bw.replaceChildren();
        bw.hidden = true;
        bw.disabled = true;
        fixed.value = c.bandwidth || "";
        fixed.textContent = c.bandwidth || "not known yet";
        fixed.hidden = false;
        bwLabel.htmlFor = "s-bandwidth-fixed";
        bwHint.textContent = s.bandwidthFixed || "Not changed from here.";
      }
      limit.value = c.bgp ? String(c.bgp.prefix_limit) : "";
      bfd.checked = Boolean(c.bgp && c.bgp.bfd);
      desc.value = c.description || "";
      rotateField.hidden = !(s.rotateKey && s.rotateKey(c));
      rotate.checked = false;
    }

    // The fields whose input differs from the connector as last read; the
    // API judges the values (an invalid one comes back as a field error).
    function changes() {
      const c = current;
      const body = {};
      if (settingsOf(c).bandwidths && bw.value && bw.value !== c.bandwidth) body.bandwidth = bw.value;
      const l = limit.value.trim();
      const n = /^-?\d+$/.test(l) ? Number(l) : null;
      if (n === null || n !== (c.bgp || {}).prefix_limit) body.prefix_limit = n === null ? l : n;
      if (bfd.checked !== Boolean((c.bgp || {}).bfd)) body.bfd = bfd.checked;
      const d = desc.value.trim();
      if (d !== (c.description || "")) body.description = d === "" ? null : d;
      if (!rotateField.hidden && rotate.checked) body.rotate_bgp_key = true;
      return body;
    }

    function hidePlan() {
      plan = null;
      planBox.hidden = true;
      routers.replaceChildren();
    }

    function topMessage(text, reload) {
      showAlert(err, text);
      if (reload) {
        err.append(" ", el("button", { type: "button", class: "link", id: "settings-reload",
          onclick: () => location.reload() }, "Reload"));
      }
      if (text) err.focus();
    }

    function refused(r) {
      status.textContent = "";
      const errors = (r.body && r.body.errors) || [];
      if (r.status === 422 && errors.length) {
        onramp.showProblem(form, r.body);
        status.textContent = `${errors.length} field${errors.length === 1 ? "" : "s"} to fix.`;
        const bad = form.querySelector("[aria-invalid=\"true\"]") || form.querySelector(".alert[data-onramp]");
        if (bad) { if (bad.tagName === "P") bad.tabIndex = -1; bad.focus(); }
        return;
      }
      onramp.clearProblem(form);
      if (r.status === 412) {
        topMessage("This connector changed since you loaded it: reload the page to see its current settings, then review your change again.", true);
      } else if (r.status === 409) {
        const p = r.body || {};
        topMessage(p.code === "change_in_progress"
          ? `A change is already being applied: ${p.detail || "wait for it to settle"}.`
          : `The settings cannot change now: ${p.detail || problemText(r)}`);
      } else {
        topMessage(problemText(r));
      }
    }

    function factValue(v) {
      return v === undefined || v === null ? el("span", { class: "muted" }, "not set") : el("code", {}, String(v));
    }

    function renderChangePlan(p) {
      const parts = [el("p", {}, `Changes: ${(p.fields || []).map((f) => SETTING_LABELS[f] || f).join(", ")}.`)];
      for (const rc of p.router_changes || []) {
        const section = el("section", { class: "router-change", "data-pe": rc.pe, "data-leg": rc.leg });
        section.append(el("h4", {}, `${rc.pe} (${rc.platform})${rc.leg ? `, ${rc.leg} leg` : ""}`));
        const changed = (rc.facts || []).filter((f) => f.change !== "unchanged");
        if (rc.facts_unavailable) {
          section.append(el("p", { class: "notice" },
            `The router's current values could not be read (${rc.facts_unavailable}); the configuration below is what would be sent.`));
        } else if (!changed.length) {
          section.append(el("p", { class: "muted" }, "Nothing changes on this router."));
        } else {
          section.append(el("table", { class: "plan-facts" },
            el("thead", {}, el("tr", {},
              el("th", { scope: "col" }, "Setting"), el("th", { scope: "col" }, "Change"),
              el("th", { scope: "col" }, "Before"), el("th", { scope: "col" }, "After"))),
            el("tbody", {}, ...changed.map((f) => el("tr", { "data-path": f.path, "data-change": f.change },
              el("td", { class: "path" }, el("code", {}, f.path)),
              el("td", {}, words(f.change)),
              el("td", { class: "before" }, factValue(f.before)),
              el("td", { class: "after" }, el("span", { class: "arrow", "aria-hidden": "true" }, "→ "), factValue(f.after)))))));
        }
        section.append(el("details", {}, el("summary", {}, "The configuration sent to the router"),
          el("pre", {}, rc.config_xml)));
        parts.push(section);
      }
      for (const call of p.csp_calls || []) {
        parts.push(el("h4", {}, `${call.service || ""} ${call.operation || ""}`.trim() || "Cloud provider call"),
          el("pre", {}, JSON.stringify(call.request || call, null, 2)));
      }
      routers.replaceChildren(...parts);
    }

    form.addEventListener("input", () => {
      dirty = true;
      // A plan is of the values it was asked for; new values, new review.
      if (plan) { hidePlan(); status.textContent = "Changed: review again."; }
    });

    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!current) return;
      hidePlan();
      showAlert(err, "");
      result.hidden = true;
      const body = changes();
      if (!Object.keys(body).length) {
        onramp.clearProblem(form);
        status.textContent = "Nothing to review: every value is the connector's current one.";
        return;
      }
      const tag = etag;
      status.textContent = "Reading the routers' running configuration…";
      const r = await onramp.api("PATCH", `/v1/connectors/${id}?dry_run=true`, body);
      if (!r.ok) { refused(r); return; }
      onramp.clearProblem(form);
      if (!r.body || r.body.dry_run !== true) {
        // Every value asked for is already the connector's.
        status.textContent = "Nothing to change: the connector already has these values.";
        return;
      }
      status.textContent = "";
      plan = { body, etag: tag };
      renderChangePlan(r.body);
      planBox.hidden = false;
      planBox.focus();
    });

    $("#settings-cancel").addEventListener("click", () => {
      hidePlan();
      status.textContent = "The plan was discarded; nothing changed.";
      limit.focus();
    });

    applyBtn.addEventListener("click", async () => {
      if (!plan) return;
      const { body, etag: tag } = plan;
      applyBtn.disabled = true;
      status.textContent = "Applying…";
      const r = await onramp.api("PATCH", `/v1/connectors/${id}`, body, tag ? { "If-Match": tag } : {});
      applyBtn.disabled = false;
      hidePlan();
      if (r.status === 202 || r.status === 200) {
        status.textContent = "";
        dirty = false;
        applied = r.status === 202 ? body : null;
        if (r.status === 200) {
          result.className = "notice";
          showAlert(result, "Nothing changed: the connector already has these values.");
        }
        shown(r.body);
        return;
      }
      refused(r);
    });

    // The applied change has settled: kept, or refused by a PE (the
    // connector is back to its previous settings, the timeline says why).
    function settle(c) {
      const body = applied;
      applied = null;
      const kept = Object.entries(body).every(([f, v]) => {
        if (f === "bandwidth") return c.bandwidth === v;
        if (f === "prefix_limit") return (c.bgp || {}).prefix_limit === v;
        if (f === "bfd") return Boolean((c.bgp || {}).bfd) === v;
        if (f === "description") return (c.description || null) === v;
        // The key is never shown: the timeline says whether Microsoft took it.
        if (f === "rotate_bgp_key") return /took the new BGP key/.test(lastMessage() || "");
        return true;
      });
      if (kept) {
        result.className = "success";
        showAlert(result, `Change applied: ${Object.keys(body).map((f) => SETTING_LABELS[f] || f).join(", ")}.`);
      } else {
        result.className = "alert";
        showAlert(result, `The change was not applied; the connector keeps its previous settings. ${lastMessage() || ""}`.trim());
      }
    }

    return {
      setEtag(tag) { etag = tag; },
      update(c) {
        current = c;
        const live = EDITABLE.includes(c.state);
        const changing = Boolean(c.change);
        box.hidden = !(live || changing);
        busy.hidden = !changing;
        form.hidden = !live || changing;
        if (changing) result.hidden = true;
        if (!live || changing) hidePlan();
        // The inputs follow the connector until the customer edits them.
        if (!dirty && !plan) fill(c);
        if (applied && !changing) settle(c);
      },
    };
  }

  async function connectorPage(root) {
    const id = root.dataset.id;
    const timeline = $("#timeline");
    const seen = new Set();
    let lastEvent = 0;
    let lastMessage = "";

    function addEvent(e) {
      if (seen.has(e.id)) return;
      seen.add(e.id);
      if (e.id > lastEvent) lastMessage = e.message;
      lastEvent = Math.max(lastEvent, e.id);
      timeline.append(el("li", { "data-event": e.id, "data-state": e.to_state },
        timeEl(e.at), badge(e.to_state), " ", e.message,
        el("span", { class: "muted" }, ` (${e.actor})`)));
    }

    function show(c) {
      const k = kindOf(c.kind);
      $("#title").replaceChildren(`${kindLabel(c.kind)} at ${c.location} `, el("code", {}, c.id.slice(0, 8)));
      document.title = `${kindLabel(c.kind)} ${c.id.slice(0, 8)} · onramp`;
      const st = $("#state");
      st.className = `badge state-${c.state}`;
      st.textContent = words(c.state);
      st.dataset.state = c.state;
      const action = k && k.action ? k.action(c) : null;
      const actionP = $("#action");
      actionP.textContent = action || "";
      actionP.hidden = !action;
      $("#next-step").textContent = c.next_step;
      $("#waiting-on").textContent = `Waiting on: ${WAITING[c.waiting_on] || c.waiting_on}.`;
      $("#next").classList.toggle("yours", c.waiting_on === "customer");
      showAlert($("#failure"), c.failure_reason || c.last_error || "");
      const bgp = c.bgp || {};
      facts($("#values"), [["Kind", kindLabel(c.kind)], ["Location", c.location],
        ["Description", c.description, "description"],
        ...(k ? k.values(c) : []),
        ["BGP prefix limit", bgp.prefix_limit, "prefix_limit"],
        ["BFD", bgp.bfd === undefined ? null : (bgp.bfd ? "on" : "off"), "bfd"],
        ["Ordered", when(c.created_at)]]);
      const keyBox = $("#bgp-key");
      keyBox.hidden = !(k && k.bgpKey(c)) || ["deleted", "failed", "rejected"].includes(c.state);
      $("#delete").disabled = ["deleted"].includes(c.state) || c.state.startsWith("deleting") || c.state.startsWith("removing") || c.state.startsWith("releasing") || c.state.startsWith("deprovisioning");
      settings.update(c);
    }

    const settings = settingsEditor(id, () => lastMessage, (c) => { show(c); refresh(); });
    const kpis = kpiPanel(`/v1/connectors/${id}/metrics`, connectorCharts);

    // Reads may overlap (one per live event): only the newest is shown.
    let reads = 0;
    async function refresh() {
      const mine = ++reads;
      const r = await onramp.api("GET", `/v1/connectors/${id}`);
      if (mine !== reads) return r.ok;
      if (!r.ok) {
        showAlert($("#load-error"), r.status === 404 ? "This connector does not exist for your organisation." : problemText(r));
        return false;
      }
      settings.setEtag(r.headers.get("ETag"));
      show(r.body);
      return true;
    }

    if (!(await refresh())) return;
    await kpis.load();
    try {
      for (const e of await all(`/v1/connectors/${id}/events`)) addEvent(e);
    } catch (r) {
      showAlert($("#load-error"), problemText(r));
    }

    // Live: each committed state change arrives over SSE; the connector is
    // read again for what the event does not carry (next step, values).
    const live = $("#live");
    const source = new EventSource(`/v1/events?connector=${encodeURIComponent(id)}&after=${lastEvent}`);
    source.addEventListener("open", () => { live.textContent = "Live: changes appear here as they happen."; });
    source.addEventListener("error", () => { live.textContent = "Live updates interrupted; reconnecting…"; });
    source.addEventListener("connector.state_changed", async (m) => {
      const e = JSON.parse(m.data);
      addEvent(e);
      await refresh();
    });
    window.addEventListener("pagehide", () => source.close());

    const reveal = $("#reveal");
    if (reveal) {
      const hide = $("#hide-key");
      reveal.addEventListener("click", async () => {
        const r = await onramp.api("POST", `/v1/connectors/${id}/bgp-key/reveal`);
        if (!r.ok) {
          $("#key-value").hidden = false;
          $("#key-text").textContent = problemText(r);
          return;
        }
        $("#key-text").textContent = r.body.bgp_key;
        $("#key-value").hidden = false;
        reveal.hidden = true;
        hide.hidden = false;
        hide.focus();
      });
      hide.addEventListener("click", () => {
        $("#key-text").textContent = "";
        $("#key-value").hidden = true;
        hide.hidden = true;
        reveal.hidden = false;
        reveal.focus();
      });
    }

    $("#delete").addEventListener("click", async () => {
      if ((await ask($("#delete-dialog"))) !== "delete") { $("#delete").focus(); return; }
      const r = await onramp.api("DELETE", `/v1/connectors/${id}`);
      const err = $("#delete-error");
      if (!r.ok) {
        showAlert(err, `${problemText(r)}${r.body && r.body.hint ? ` ${r.body.hint}` : ""}`);
        err.tabIndex = -1;
        err.focus();
        return;
      }
      showAlert(err, "");
      show(r.body);
      $("#state").focus();
    });
  }

  // ===== API keys =====

  async function keysPage() {
    const tbody = $("#keys tbody");
    const status = $("#keys-status");
    // `note` (what just happened) stays in front of the count, so the
    // reload after an action does not wipe the message about it.
    async function load(note) {
      let items;
      try { items = await all("/v1/api-keys"); } catch (r) { status.textContent = problemText(r); return; }
      tbody.replaceChildren(...items.map((k) => el("tr", { "data-id": k.id },
        el("td", {}, k.name),
        el("td", {}, el("code", {}, `${k.prefix}…`)),
        el("td", {}, k.role),
        el("td", {}, timeEl(k.created_at)),
        el("td", {}, k.revoked_at ? el("span", { class: "badge state-deleted" }, `revoked ${when(k.revoked_at)}`) : el("span", { class: "badge ok" }, "active")),
        el("td", {}, k.revoked_at ? "" : el("button", {
          type: "button", class: "danger revoke", "aria-label": `Revoke key ${k.name}`,
          onclick: async (ev) => {
            $("#revoke-name").textContent = `“${k.name}”`;
            if ((await ask($("#revoke-dialog"))) !== "revoke") { ev.target.focus(); return; }
            const r = await onramp.api("DELETE", `/v1/api-keys/${k.id}`);
            const note = r.ok ? `Key “${k.name}” revoked.` : problemText(r);
            status.textContent = note;
            await load(note);
            status.focus();
          },
        }, "Revoke")))));
      const count = items.length ? `${items.length} key${items.length === 1 ? "" : "s"}.` : "No API keys yet.";
      status.textContent = note ? `${note} ${count}` : count;
    }
    status.tabIndex = -1;
    const form = $("#key-form");
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const r = await onramp.api("POST", "/v1/api-keys", { name: form.elements.name.value.trim() },
        { "Idempotency-Key": uuid() });
      if (!r.ok) {
        onramp.showProblem(form, r.body);
        form.elements.name.focus();
        return;
      }
      onramp.clearProblem(form);
      form.reset();
      $("#new-key-text").textContent = r.body.key;
      const box = $("#new-key");
      box.hidden = false;
      box.focus();
      await load();
    });
    await load();
  }

  // ===== links =====

  // Active connectors in no live link: what a link can take.
  async function linkable() {
    const [connectors, links] = await Promise.all([all("/v1/connectors?state=active"), all("/v1/links")]);
    const taken = new Set();
    for (const l of links) {
      if (l.state === "deleted") continue;
      for (const m of l.members) if (m.state !== "removed") taken.add(m.connector);
    }
    return { free: connectors.filter((c) => !taken.has(c.id)), links };
  }

  const connectorLabel = (c) => `${kindLabel(c.kind)} at ${c.location} (${c.id.slice(0, 8)})`;

  async function linksPage() {
    const status = $("#links-status");
    const tbody = $("#links tbody");
    const choices = $("#link-choices");
    let data;
    try { data = await linkable(); } catch (r) { status.textContent = problemText(r); return; }
    choices.replaceChildren(...(data.free.length ? data.free.map((c) => {
      const id = `pick-${c.id}`;
      return el("div", { class: "checkbox" },
        el("input", { type: "checkbox", id, name: "connector-choice", value: c.id }),
        " ", el("label", { for: id }, connectorLabel(c)));
    }) : [el("p", { class: "muted" }, "You have no active connector outside a link.")]));
    tbody.replaceChildren(...data.links.map((l) => el("tr", { "data-id": l.id },
      el("td", {}, el("a", { href: `/portal/links/${l.id}` }, l.name)),
      el("td", {}, badge(l.state)),
      el("td", {}, String(l.members.filter((m) => m.state !== "removed").length)),
      el("td", {}, el("code", {}, l.route_target)),
      el("td", {}, timeEl(l.created_at)))));
    status.textContent = data.links.length ? `${data.links.length} link${data.links.length === 1 ? "" : "s"}.` : "No links yet.";

    const form = $("#link-form");
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const picked = [...form.querySelectorAll("input[name=connector-choice]:checked")].map((i) => i.value);
      const r = await onramp.api("POST", "/v1/links", { name: form.elements.name.value.trim(), connectors: picked },
        { "Idempotency-Key": uuid() });
      if (!r.ok) {
        onramp.showProblem(form, r.body);
        const bad = form.querySelector("[aria-invalid=\"true\"]") || form.querySelector(".alert");
        if (bad) { bad.tabIndex = bad.tabIndex < 0 ? -1 : bad.tabIndex; bad.focus(); }
        return;
      }
      location.assign(`/portal/links/${r.body.id}`);
    });
  }

  async function linkPage(root) {
    const id = root.dataset.id;
    const err = $("#link-error");
    err.tabIndex = -1;
    let pollTimer = null;
    let sla = null;
    const kpis = kpiPanel(`/v1/links/${id}/metrics`, (m) => {
      const dir = (s) => `${s.pe} → ${s.to_pe}`;
      const line = (v) => (sla ? { value: v, label: "SLA" } : undefined);
      return [
        { metric: "latency", title: "Latency (average round trip)", unit: "ms",
          series: seriesOf(m, ["latency_ms"], dir), threshold: sla && line(sla.latency_ms) },
        { metric: "jitter", title: "Jitter", unit: "ms",
          series: seriesOf(m, ["jitter_ms"], dir), threshold: sla && line(sla.jitter_ms) },
        { metric: "loss", title: "Packet loss", unit: "%",
          series: seriesOf(m, ["loss_percent"], dir), threshold: sla && line(sla.loss_percent) },
      ];
    });

    async function load() {
      const r = await onramp.api("GET", `/v1/links/${id}`);
      if (!r.ok) { showAlert(err, problemText(r)); return; }
      const l = r.body;
      let free = [];
      try { free = (await linkable()).free; } catch (_) { /* the add list stays empty */ }
      const names = new Map();
      try { for (const c of await all("/v1/connectors")) names.set(c.id, connectorLabel(c)); } catch (_) { /* ids only */ }
      $("#title").textContent = `Link ${l.name}`;
      document.title = `Link ${l.name} · onramp`;
      const st = $("#state");
      st.className = `badge state-${l.state}`;
      st.textContent = words(l.state);
      sla = l.sla;
      const slaBadge = $("#sla-status");
      slaBadge.className = `badge sla-${l.sla.status}`;
      slaBadge.dataset.status = l.sla.status;
      slaBadge.textContent = l.sla.status === "breached"
        ? `breached since ${when(l.sla.breached_since)}` : "met";
      $("#sla-thresholds").textContent = `${l.sla.profile}: latency ≤ ${l.sla.latency_ms} ms, jitter ≤ ${l.sla.jitter_ms} ms, loss ≤ ${l.sla.loss_percent} %`;
      facts($("#facts"), [["VRF", l.vrf_name], ["Route distinguisher", l.route_distinguisher],
        ["Route target", l.route_target], ["Waiting on", WAITING[l.waiting_on] || l.waiting_on],
        ["Last error", l.last_error]]);
      const live = l.members.filter((m) => m.state !== "removed");
      $("#members tbody").replaceChildren(...live.map((m) => el("tr", {},
        el("td", {}, el("a", { href: `/portal/connectors/${m.connector}` }, names.get(m.connector) || m.connector)),
        el("td", {}, badge(m.state)),
        el("td", {}, m.state === "joined" && l.state !== "deleting" ? el("button", {
          type: "button", "aria-label": `Remove ${names.get(m.connector) || m.connector} from the link`,
          onclick: async () => {
            const d = await onramp.api("DELETE", `/v1/links/${id}/connectors/${m.connector}`);
            if (!d.ok) { showAlert(err, problemText(d)); err.focus(); return; }
            showAlert(err, "");
            await load();
            $("#state").focus();
          },
        }, "Remove") : ""))));
      const select = $("#add-connector");
      select.replaceChildren(...(free.length
        ? free.map((c) => el("option", { value: c.id }, connectorLabel(c)))
        : [el("option", { value: "" }, "No active connector outside a link")]));
      $("#add").disabled = !free.length || l.state === "deleting" || l.state === "deleted";
      $("#delete").disabled = l.state === "deleting" || l.state === "deleted";
      $("#timeline").replaceChildren(...l.timeline.map((e) => el("li", {},
        timeEl(e.at), badge(e.state), " ", e.message, el("span", { class: "muted" }, ` (${e.actor})`))));
      clearTimeout(pollTimer);
      pollTimer = null;
      // Links have no event stream yet: while routers change, look again.
      if (["configuring", "deleting"].includes(l.state) || live.some((m) => ["joining", "leaving", "left"].includes(m.state))) {
        pollTimer = setTimeout(load, 2000);
      }
    }

    $("#add-member").addEventListener("submit", async (e) => {
      e.preventDefault();
      const form = e.target;
      const r = await onramp.api("POST", `/v1/links/${id}/connectors`, { connector: form.elements.connector.value },
        { "Idempotency-Key": uuid() });
      if (!r.ok) { onramp.showProblem(form, r.body); return; }
      onramp.clearProblem(form);
      await load();
      $("#state").focus();
    });

    $("#delete").addEventListener("click", async () => {
      if ((await ask($("#delete-dialog"))) !== "delete") { $("#delete").focus(); return; }
      const r = await onramp.api("DELETE", `/v1/links/${id}`);
      if (!r.ok) { showAlert(err, problemText(r)); err.focus(); return; }
      showAlert(err, "");
      await load();
      $("#state").focus();
    });

    await load();
    await kpis.load();
    // The SLA's status changes without the routers: look again with the
    // charts.
    setInterval(() => { if (!pollTimer) load(); }, 15000);
  }

  const pages = {
    connectors: connectorsPage, order: orderPage, connector: connectorPage,
    keys: keysPage, links: linksPage, link: linkPage,
  };

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("portal-page");
    const run = root && pages[root.dataset.page];
    if (run) {
      run(root).then(() => { root.dataset.ready = "true"; }, (e) => {
        console.error(e);
        root.dataset.ready = "error";
      });
    }
  });
})();
