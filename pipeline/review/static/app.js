// The coding view of `autocode review`: keyboard first, every text set as textContent
// (never as HTML), every request with the token in the Authorization header.
"use strict";

(function () {
  const cfg = JSON.parse(document.getElementById("config").textContent);
  const S = cfg.strings;
  const params = new URLSearchParams(location.search);
  const token = params.get("token") || "";
  const KEYS = "123456789abcdefghijklmopqrtvwxy"; // n, s, u and z are actions
  const byId = (id) => document.getElementById(id);

  const state = {
    coder: params.get("coder") || "",
    queue: params.get("queue") || "document",
    blind: params.get("blind") === "1",
    view: null,
    selected: new Set(),
    model: undefined,
    busy: false,
  };
  const keyOf = {};
  const codeOfKey = {};
  cfg.leaf.forEach((code, i) => {
    if (i < KEYS.length) {
      keyOf[code] = KEYS[i];
      codeOfKey[KEYS[i]] = code;
    }
  });
  const info = Object.fromEntries(cfg.codes.map((c) => [c.id, c]));

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (_, k) => (k in values ? String(values[k]) : ""));
  }
  function num(x) {
    return x === null || x === undefined ? "" : x.toFixed(3).replace(".", S.decimal);
  }
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    Object.entries(props || {}).forEach(([k, v]) => {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("data-") || k.startsWith("aria-")) node.setAttribute(k, v);
      else node[k] = v;
    });
    children.forEach((c) => node.append(c));
    return node;
  }

  async function api(path, options) {
    const response = await fetch(path, {
      ...(options || {}),
      headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
      cache: "no-store",
    });
    const text = await response.text();
    const data = text && (response.headers.get("content-type") || "").includes("json") ? JSON.parse(text) : text;
    if (!response.ok) throw new Error((data && data.error) || response.status + " " + response.statusText);
    return data;
  }
  const q = (o) => new URLSearchParams(o).toString();

  function showError(err) {
    const p = byId("error");
    p.textContent = err ? String(err.message || err) : "";
    p.hidden = !err;
  }

  // --- the code toggles ------------------------------------------------------------------
  function buildCodes() {
    const box = byId("codes");
    box.replaceChildren();
    let group = null;
    cfg.codes.forEach((c) => {
      if (!cfg.leaf.includes(c.id)) {
        group = el("fieldset", { class: "group" }, el("legend", { text: c.name ? c.id + " – " + c.name : c.id }));
        box.append(group);
        return;
      }
      const button = el(
        "button",
        { type: "button", class: "code", "data-code": c.id, "aria-pressed": "false", title: c.definition || c.name },
        el("kbd", { text: keyOf[c.id] || "" }),
        el("span", { class: "label", text: c.name || c.id }),
        el("span", { class: "id", text: c.id }),
        el("span", { class: "bar" }, el("span", { class: "fill" })),
        el("span", { class: "score" })
      );
      button.addEventListener("click", () => toggle(c.id));
      button.addEventListener("mouseenter", () => define(c.id));
      button.addEventListener("focus", () => define(c.id));
      (group || box).append(button);
    });
  }

  function define(code) {
    const c = info[code];
    const box = byId("definition");
    box.replaceChildren(el("h3", { text: c.id + (c.name ? " – " + c.name : "") }), el("p", { text: c.definition || "" }));
    if (c.anchors && c.anchors.length) {
      box.append(el("h4", { text: S.anchors }), el("ul", {}, ...c.anchors.map((a) => el("li", { text: a }))));
    }
  }

  function toggle(code) {
    if (!state.view || !state.view.segment) return;
    if (state.selected.has(code)) state.selected.delete(code);
    else state.selected.add(code);
    define(code);
    paintCodes();
  }

  function paintCodes() {
    document.body.classList.toggle("blind", state.blind);
    const v = state.view || {};
    const proposals = v.proposals || {};
    const scores = v.scores || {};
    document.querySelectorAll("button.code").forEach((b) => {
      const code = b.dataset.code;
      b.setAttribute("aria-pressed", state.selected.has(code) ? "true" : "false");
      b.classList.toggle("proposed", code in proposals);
      const s = scores[code];
      b.querySelector(".fill").style.width = s === undefined ? "0" : Math.round(s * 100) + "%";
      b.querySelector(".score").textContent = s === undefined ? "" : num(s);
    });
  }

  // --- the segment in its context --------------------------------------------------------
  function render(view) {
    state.view = view;
    showError(null);
    const empty = !view || view.segment === null;
    byId("empty").hidden = !empty;
    byId("context").replaceChildren();
    byId("others").hidden = true;
    if (empty) {
      byId("where").textContent = "";
      state.selected = new Set();
      paintCodes();
      return;
    }
    byId("where").textContent = view.document + " · " + fill(S.segment_of, { n: view.position, last: view.of - 1 });
    view.context.forEach((c) => {
      const item = el(
        "li",
        { class: "seg " + c.role + (c.current ? " current" : "") },
        el("span", { class: "speaker", text: c.speaker ? c.speaker + ":" : "" }),
        el("span", { class: "text", text: c.text })
      );
      if (c.current) item.setAttribute("data-segment", c.segment);
      else item.setAttribute("data-context", c.segment);
      byId("context").append(item);
    });
    const current = document.querySelector("[data-segment]");
    if (current) current.scrollIntoView({ block: "center" });
    if (view.others && Object.keys(view.others).length) {
      const p = byId("others");
      p.textContent = S.others + " " + Object.entries(view.others).map(([k, v]) => k + ": " + (v.join(", ") || S.no_codes)).join("; ");
      p.hidden = false;
    }
    state.selected = new Set(view.mine || Object.keys(view.proposals || {}));
    paintCodes();
  }

  async function load() {
    render(await api("/api/next?" + q({ coder: state.coder, queue: state.queue, blind: state.blind ? 1 : 0 })));
  }

  async function decide(extra) {
    const v = state.view;
    if (!v || !v.segment || state.busy) return;
    state.busy = true;
    // User Timing: "next-segment" is the time from the decision until the next segment is
    // shown (autocode benchmark review-speed reads it).
    performance.mark("decision");
    try {
      const shown = !state.blind && v.proposals !== undefined;
      const body = {
        segment: v.segment,
        coder: state.coder,
        codes: [...state.selected].sort(),
        proposals_shown: shown,
        model: shown && v.model ? v.model.id : null,
        queue: state.queue,
        blind: state.blind,
        ...extra,
      };
      const answer = await api("/api/decisions", { method: "POST", body: JSON.stringify(body) });
      render(answer.next);
      performance.measure("next-segment", "decision");
      showHistory(answer.history);
    } catch (err) {
      showError(err);
    } finally {
      state.busy = false;
    }
  }

  async function undo() {
    if (state.busy) return;
    state.busy = true;
    try {
      const answer = await api("/api/undo", { method: "POST", body: JSON.stringify({ coder: state.coder, blind: state.blind }) });
      if (answer.undone) render(answer.next);
      refreshHistory();
    } catch (err) {
      showError(err);
    } finally {
      state.busy = false;
    }
  }

  async function revisit(segment) {
    try {
      render(await api("/api/segment?" + q({ id: segment, coder: state.coder, blind: state.blind ? 1 : 0 })));
    } catch (err) {
      showError(err);
    }
  }

  async function refreshHistory() {
    showHistory((await api("/api/history?" + q({ coder: state.coder }))).history);
  }

  function showHistory(history) {
    if (!history) return refreshHistory();
    byId("history").replaceChildren(
      ...history.map((h) => {
        const what = h.action === "skip" ? S.skipped : h.codes.join(", ") || S.no_codes;
        const item = el("li", { "data-history": h.segment }, el("span", { class: "codes", text: what }), el("span", { class: "text", text: h.text }));
        item.tabIndex = 0;
        item.addEventListener("click", () => revisit(h.segment));
        return item;
      })
    );
  }

  // --- the model in the loop --------------------------------------------------------------
  async function refreshStatus() {
    let s;
    try {
      s = await api("/api/status");
    } catch (err) {
      return;
    }
    const parts = [fill(S.decisions, { n: s.decisions })];
    if (s.model) parts.push(fill(S.model_current, { name: s.model.name }));
    else parts.push(fill(S.model_none, { n: cfg.retrain_every }));
    if (s.training) parts.push(fill(S.model_training, { name: s.training.name }));
    const failed = s.models.filter((m) => m.status === "failed").pop();
    if (failed && (!s.model || failed.id > s.model.id)) parts.push(fill(S.failed, { error: failed.error || "" }));
    byId("status").textContent = parts.join(" · ");
    byId("models").replaceChildren(
      ...s.models
        .filter((m) => m.status === "ready")
        .reverse()
        .map((m) => el("li", { text: m.name + (m.cv ? " – " + fill(S.cv, { micro: num(m.cv.micro_f1), macro: num(m.cv.macro_f1) }) : "") }))
    );
    const id = s.model ? s.model.id : null;
    if (state.model !== undefined && id !== state.model && state.view && state.view.segment) {
      byId("status").textContent += " · " + fill(S.model_new, { name: s.model.name });
      revisit(state.view.segment); // the proposals of the new model
    }
    state.model = id;
  }

  // --- keyboard and mouse ------------------------------------------------------------------
  function onKey(event) {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA")) return;
    const key = event.key;
    if (key === "Enter") decide({});
    else if (key === "n") {
      state.selected = new Set();
      paintCodes();
      decide({ codes: [] });
    } else if (key === "s") decide({ skip: true, codes: [] });
    else if (key === "z" || key === "Backspace") undo();
    else if (key in codeOfKey) toggle(codeOfKey[key]);
    else return;
    event.preventDefault();
  }

  function start() {
    byId("coder-name").textContent = state.coder;
    byId("queue").value = state.queue;
    byId("blind").checked = state.blind;
    byId("start").hidden = true;
    byId("work").hidden = false;
    buildCodes();
    document.addEventListener("keydown", onKey);
    byId("accept").addEventListener("click", () => decide({}));
    byId("none").addEventListener("click", () => decide({ codes: [] }));
    byId("skip").addEventListener("click", () => decide({ skip: true, codes: [] }));
    byId("undo").addEventListener("click", undo);
    byId("train").addEventListener("click", () => api("/api/train", { method: "POST", body: "{}" }).then(refreshStatus, showError));
    byId("queue").addEventListener("change", (e) => {
      state.queue = e.target.value;
      e.target.blur();
      load().catch(showError);
    });
    byId("blind").addEventListener("change", (e) => {
      state.blind = e.target.checked;
      e.target.blur();
      load().catch(showError);
    });
    load().catch(showError);
    refreshHistory().catch(showError);
    refreshStatus();
    setInterval(refreshStatus, 2000);
  }

  if (state.coder) start();
  else {
    const form = byId("start");
    form.hidden = false;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      state.coder = byId("start-coder").value.trim();
      const url = new URL(location.href);
      url.searchParams.set("coder", state.coder);
      history.replaceState(null, "", url);
      start();
    });
  }
})();
