// Noisette Studio: one small page app. Hash routes, fetch for the JSON API, Server-Sent Events for live updates.
"use strict";

const token = document.querySelector('meta[name="noisette-token"]').content;
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const enc = encodeURIComponent;
let studio = null;   // /api/state
let page = null;     // the current page: { onEvent(type, data), dispose() }

async function api(path, opts = {}) {
  const init = { method: opts.method || (opts.form ? "POST" : "GET"), headers: {} };
  if (init.method !== "GET") init.headers["X-Noisette-Token"] = token;
  if (opts.form) init.body = opts.form instanceof FormData ? opts.form : toForm(opts.form);
  const res = await fetch(path, init);
  const type = res.headers.get("content-type") || "";
  const body = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) {
    const e = new Error((body && body.error) || String(body) || res.statusText);
    e.field = body && body.field; e.status = res.status;
    throw e;
  }
  return body;
}

function toForm(obj) {
  const f = new FormData();
  for (const [k, v] of Object.entries(obj)) if (v !== undefined && v !== null) f.append(k, v);
  return f;
}

function notify(message, kind = "info") {
  const n = $("#notice");
  n.textContent = message;
  n.className = kind;
}

function clearErrors(form) {
  $$(".field-error", form).forEach(e => e.remove());
  $$("[aria-invalid]", form).forEach(e => { e.removeAttribute("aria-invalid"); e.removeAttribute("aria-describedby"); });
}

function showError(form, err) {
  clearErrors(form);
  if (err.field) {
    const input = form.querySelector(`[name="${CSS.escape(err.field)}"]`) || form.querySelector(`[data-field="${CSS.escape(err.field)}"]`);
    if (input) {
      const p = document.createElement("p");
      p.className = "field-error";
      p.id = `err-${input.id || err.field}`;
      p.textContent = err.message;
      (input.closest(".field") || input.parentElement).append(p);
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", p.id);
      input.focus();
    }
  }
  notify(err.message, "error");
}

/** Submits a form through the API; shows a field's error beside it. */
function onSubmit(form, handler) {
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    const button = form.querySelector("button[type=submit], button:not([type])");
    if (button) button.disabled = true;
    if ($("#notice").className === "error") notify("");   // an old error does not outlive the next attempt
    try { clearErrors(form); await handler(new FormData(form)); }
    catch (e) { showError(form, e); }
    finally { if (button) button.disabled = false; }
  });
}

const fmtTime = s => {
  if (s == null || !isFinite(s)) return "—";
  s = Math.round(s);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor(s % 3600 / 60)} min`;
};
const fmtNum = (x, d = 4) => x == null ? "—" : Number(x).toPrecision(d);
const stepText = (step, total, until) => until ? `${step} (until you stop)` : `${step} / ${total ?? "?"}`;
const stateBadge = r => `<span class="badge state-${esc(r.state)}" data-state="${esc(r.state)}">${esc(r.state.replace("-", " "))}</span>`;

// ------------------------------------------------------------------ the machine (header)

let machine = null;
function renderMachine(q) {
  const m = $("#machine");
  if (!q) return;
  machine = q;
  const waiting = q.waiting.length ? ` · ${q.waiting.length} waiting: ${q.waiting.map(w => esc(w.run)).join(", ")}` : "";
  if (q.current) {
    const c = q.current;
    m.innerHTML = `Training <a href="#/run/${enc(c.run)}">${esc(c.run)}</a>: ${c.phase === "training" ? "step " + stepText(c.step, c.total, c.untilStopped) : esc(c.phase)}${waiting}`;
  } else m.innerHTML = `The machine is free${waiting}`;
}

// ------------------------------------------------------------------ router

const routes = {
  datasets: DatasetsPage, train: TrainPage, runs: RunsPage, run: RunPage,
  timeline: TimelinePage, generate: GeneratePage, edit: EditPage,
};

async function route(moveFocus) {
  const hash = location.hash.replace(/^#\/?/, "") || "datasets";
  const [path, query] = hash.split("?");
  const parts = path.split("/").filter(p => p.length).map(decodeURIComponent);
  const name = routes[parts[0]] ? parts[0] : "datasets";
  if (page && page.dispose) page.dispose();
  page = null;
  $$("nav a").forEach(a => a.toggleAttribute("aria-current", a.dataset.nav === (name === "run" || name === "timeline" ? "runs" : name)));
  $$("nav a").forEach(a => { if (a.hasAttribute("aria-current")) a.setAttribute("aria-current", "page"); });
  const main = $("#main");
  main.innerHTML = "";
  notify("");
  // Busy while the page fetches what it shows: screen readers wait for it, and so does `bench studio`.
  main.setAttribute("aria-busy", "true");
  try {
    if (!studio) studio = await api("/api/state");
    page = (await routes[name](main, parts.slice(1), new URLSearchParams(query || ""))) || {};
  } finally {
    main.setAttribute("aria-busy", "false");
  }
  // After a route change, keyboard and screen-reader users land on the new page's heading, not on a stale link.
  const heading = moveFocus && $("#main h1");
  if (heading && (location.hash.replace(/^#\/?/, "") || "datasets") === hash) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

// ------------------------------------------------------------------ datasets

async function DatasetsPage(main, [selected]) {
  main.innerHTML = `
  <h1>Datasets</h1>
  <section aria-labelledby="ds-h"><h2 id="ds-h">Your datasets</h2><ul class="plain" id="ds-list"><li class="muted">Loading…</li></ul></section>
  <div class="cols">
    <form class="card" id="add-form">
      <h2>Add a folder on this computer</h2>
      <div class="field"><label for="add-path">Folder path</label>
        <input id="add-path" name="path" type="text" required placeholder="/home/you/pictures/letters" autocomplete="off"></div>
      <div class="field"><label for="add-name">Name (optional)</label><input id="add-name" name="name" type="text" autocomplete="off"></div>
      <p class="hint">The folder is read, never changed.</p>
      <button type="submit">Add folder</button>
    </form>
    <form class="card" id="upload-form">
      <h2>Upload pictures or a zip</h2>
      <div class="field"><label for="up-name">Name of the new dataset</label><input id="up-name" name="name" type="text" required autocomplete="off"></div>
      <div class="drop" id="drop">
        <div class="field"><label for="up-files">Drop pictures or a .zip here, or choose files</label>
        <input id="up-files" name="files" type="file" multiple accept="image/png,image/jpeg,image/webp,image/gif,image/bmp,.zip"></div>
        <p id="up-chosen" class="hint"></p>
      </div>
      <p class="hint">Every picture is checked before it is kept; files that are not pictures are refused with the reason.</p>
      <button type="submit">Upload</button>
    </form>
    <form class="card" id="glyph-form">
      <h2>Draw letters from fonts</h2>
      <div class="field"><label for="gl-fonts">Folder of fonts (.ttf, .otf)</label>
        <input id="gl-fonts" name="fonts" type="text" required placeholder="/usr/share/fonts" autocomplete="off"></div>
      <div class="field"><label for="gl-chars">Characters to draw</label><input id="gl-chars" name="chars" type="text" required value="ABC" autocomplete="off"></div>
      <div class="field"><label for="gl-size">Picture size (px)</label><input id="gl-size" name="image_size" type="number" min="8" max="1024" value="64" inputmode="numeric"></div>
      <div class="field"><label for="gl-name">Name of the new dataset</label><input id="gl-name" name="name" type="text" required value="glyphs" autocomplete="off"></div>
      <p class="hint">Every font is drawn with the same cap height and baseline, one subfolder per character. The font folder is only read.</p>
      <button type="submit">Draw the glyphs</button>
    </form>
  </div>
  <div id="report" aria-live="polite"></div>`;

  let dropped = [];
  const drop = $("#drop"), input = $("#up-files");
  const showChosen = () => {
    const files = dropped.length ? dropped : Array.from(input.files);
    $("#up-chosen").textContent = files.length ? `${files.length} file(s) chosen: ${files.slice(0, 5).map(f => f.name).join(", ")}${files.length > 5 ? "…" : ""}` : "";
  };
  input.addEventListener("change", () => { dropped = []; showChosen(); });
  drop.addEventListener("dragover", e => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", e => { e.preventDefault(); drop.classList.remove("over"); dropped = Array.from(e.dataTransfer.files); showChosen(); });

  onSubmit($("#add-form"), async f => {
    const d = await api("/api/datasets/add", { form: f });
    notify(`Added ${d.name}. Checking its pictures…`, "ok");
    location.hash = `#/datasets/${enc(d.name)}`;
  });
  onSubmit($("#upload-form"), async f => {
    f.delete("files");
    for (const file of (dropped.length ? dropped : Array.from(input.files))) f.append("files", file, file.name);
    notify("Uploading and checking every picture…");
    const r = await api("/api/datasets/upload", { form: f });
    const refused = r.rejected.length ? ` ${r.rejected.length} file(s) refused: ${r.rejected.slice(0, 5).map(x => `${x.file} (${x.reason})`).join("; ")}` : "";
    notify(`Dataset ${r.name} created with ${r.kept} picture(s).${refused}`, r.rejected.length ? "error" : "ok");
    location.hash = `#/datasets/${enc(r.name)}`;
  });

  onSubmit($("#glyph-form"), async f => {
    notify("Drawing the glyphs of every font…");
    const r = await api("/api/datasets/glyphs", { form: f });
    notify(r.message.charAt(0).toUpperCase() + r.message.slice(1) + ".", r.failed.length ? "error" : "ok");
    location.hash = `#/datasets/${enc(r.name)}`;
  });

  async function list() {
    const items = await api("/api/datasets");
    $("#ds-list").innerHTML = items.length ? items.map(d => `
      <li><a href="#/datasets/${enc(d.name)}">${esc(d.name)}</a> <span class="muted">${esc(d.path)}</span>
        <a class="button secondary" href="#/train?dataset=${enc(d.name)}">Train on it</a>
        <button type="button" class="danger" data-remove="${esc(d.name)}" aria-expanded="false">Remove…</button>
        <form class="confirm" data-confirm="${esc(d.name)}">
          <div class="inline-field"><label for="rm-${esc(d.name)}">Type ${esc(d.name)} to confirm</label><input id="rm-${esc(d.name)}" name="confirm" type="text" autocomplete="off"></div>
          <button type="submit" class="danger">${d.inWorkspace ? "Move to trash" : "Forget this folder"}</button>
        </form></li>`).join("") : `<li class="muted">No dataset yet. Add a folder or upload pictures below.</li>`;
    $$("[data-remove]").forEach(b => b.addEventListener("click", () => {
      const form = $(`form[data-confirm="${CSS.escape(b.dataset.remove)}"]`);
      form.classList.toggle("open"); b.setAttribute("aria-expanded", form.classList.contains("open"));
      if (form.classList.contains("open")) form.querySelector("input").focus();
    }));
    $$("form[data-confirm]").forEach(form => onSubmit(form, async f => {
      const r = await api(`/api/datasets/${enc(form.dataset.confirm)}/remove`, { form: f });
      notify(`${form.dataset.confirm}: ${r.message}`, "ok");
      location.hash = "#/datasets";
      list();
    }));
  }
  await list();
  if (selected) showReport(selected, false);
  return { onEvent: t => { if (t === "datasets") list(); } };
}

async function showReport(name, refresh) {
  const box = $("#report");
  box.innerHTML = `<section><h2>Health of ${esc(name)}</h2><p class="muted">Checking every picture…</p></section>`;
  let r;
  try { r = await api(`/api/datasets/${enc(name)}/report${refresh ? "?refresh=true" : ""}`); }
  catch (e) { box.innerHTML = `<section><h2>Health of ${esc(name)}</h2><p class="field-error">${esc(e.message)}</p></section>`; return; }
  const thumbs = files => `<div class="thumbs">${files.map(f => f.url
      ? `<figure><img src="${esc(f.url)}" alt="${esc(f.path)}" loading="lazy"><figcaption>${esc(f.path)}</figcaption></figure>`
      : `<figure><figcaption>${esc(f.path)}</figcaption></figure>`).join("")}</div>`;
  const kv = o => Object.entries(o).map(([k, v]) => `${esc(k)} ${v}`).join(", ");
  box.innerHTML = `
  <section id="report-section" aria-labelledby="rep-h">
    <h2 id="rep-h">Health of ${esc(r.name)}</h2>
    <p class="${r.ready ? "" : "field-error"}" id="report-verdict">${r.ready ? "Ready to train." : "Not ready: fix the problems marked fatal first."}
      ${r.readable} readable picture(s), ${esc(r.channels)}; ${r.trainCount} for training and ${r.validationCount} held out to check the model.</p>
    <dl class="settings">
      <dt>Folder</dt><dd>${esc(r.folder)}</dd>
      <dt>Formats</dt><dd>${kv(r.formats) || "—"}</dd>
      <dt>Sizes</dt><dd>${kv(r.sizes) || "—"}</dd>
      <dt>Flagged pictures</dt><dd>${r.flagged}</dd>
      ${r.ignored ? `<dt>Other files (ignored)</dt><dd>${r.ignored}</dd>` : ""}
    </dl>
    ${r.classes ? `<p id="report-classes">Classes from subfolders: ${r.classes.length} (${esc(r.classes.join(", "))}). A training can learn them, so you can later ask for one class.</p>` : ""}
    <div class="actions"><a class="button" href="#/train?dataset=${enc(r.name)}">Train on ${esc(r.name)}</a>
      <button type="button" class="secondary" id="recheck">Check again</button></div>
    <details id="prepare"><summary>Prepare a tidy copy (align and resize)</summary>
      <form id="prepare-form">
        <p class="hint">Writes a new dataset in the workspace: every picture brought to one size, its drawing set on a common baseline or centred. ${esc(r.name)} is not changed.</p>
        <div class="field"><label for="pr-name">Name of the new dataset</label><input id="pr-name" name="new_name" type="text" value="${esc(r.name)}-prepared" autocomplete="off"></div>
        <div class="field"><label for="pr-align">Alignment</label><select id="pr-align" name="align">
          <option value="baseline">On a common baseline, centred across (letters)</option><option value="center">Centred both ways</option><option value="none">Leave where it is (only resize)</option></select></div>
        <div class="field"><label for="pr-height">Height of the drawing, % of the picture (optional)</label><input id="pr-height" name="target_height" type="text" inputmode="decimal" placeholder="keep each as it is"></div>
        <div class="field"><label for="pr-size">Picture size (px)</label><input id="pr-size" name="image_size" type="number" min="8" max="1024" value="${r.sizes && Object.keys(r.sizes).some(k => k.startsWith("32")) ? 32 : 64}" inputmode="numeric"></div>
        <button type="submit">Prepare the copy</button>
      </form></details>
    <h3>Findings</h3>
    ${r.problems.length ? r.problems.map(p => `<div class="problem ${esc(p.severity)}"><p><strong>${esc(p.severity)}</strong>: ${esc(p.message)}</p>
        ${p.files.length ? thumbs(p.files) : ""}${p.more ? `<p class="hint">and ${p.more} more</p>` : ""}</div>`).join("") : `<p>Nothing to report: the pictures look consistent.</p>`}
    ${r.unreadable.length ? `<h3>Files that cannot be used</h3><ul>${r.unreadable.map(u => `<li>${esc(u.path)}: ${esc(u.reason)}</li>`).join("")}</ul>` : ""}
    <h3>A few of the pictures</h3>${thumbs(r.samples.filter(Boolean).map(u => ({ url: u, path: decodeURIComponent(u.split("path=")[1] || "") })))}
  </section>`;
  $("#recheck").addEventListener("click", () => showReport(name, true));
  onSubmit($("#prepare-form"), async f => {
    notify("Preparing the copy…");
    const p = await api(`/api/datasets/${enc(r.name)}/prepare`, { form: f });
    notify(p.message.charAt(0).toUpperCase() + p.message.slice(1) + ".", "ok");
    location.hash = `#/datasets/${enc(p.name)}`;
  });
}

// ------------------------------------------------------------------ new training

async function TrainPage(main, _, params) {
  const [datasets, runs] = await Promise.all([api("/api/datasets"), api("/api/runs")]);
  const chosen = params.get("dataset");
  main.innerHTML = `
  <h1>New training</h1>
  ${datasets.length ? "" : `<p class="coming">There is no dataset yet. <a href="#/datasets">Add your pictures first.</a></p>`}
  <form class="card" id="train-form">
    <div class="field"><label for="t-dataset">Pictures</label>
      <select id="t-dataset" name="dataset">${datasets.map(d => `<option value="${esc(d.name)}" ${d.name === chosen ? "selected" : ""}>${esc(d.name)}</option>`).join("")}</select></div>
    <fieldset><legend id="t-model-legend">Model</legend>
      <p class="hint" id="t-model-from" hidden></p>
      ${studio.presets.map((p, i) => `<label class="choice"><input type="radio" name="preset" value="${esc(p.name)}" ${i === 0 ? "checked" : ""}>
        <strong>${esc(p.title)}</strong><span class="hint">${esc(p.description)}</span><span class="hint estimate" data-preset="${esc(p.name)}"></span></label>`).join("")}
    </fieldset>
    <fieldset><legend>How long</legend>
      <label class="choice"><input type="radio" name="length" value="steps" checked><span>A number of steps</span></label>
      <div class="field"><label for="t-steps">Steps</label><input id="t-steps" name="steps" type="number" min="1" value="2000" inputmode="numeric"></div>
      <label class="choice"><input type="radio" name="length" value="until-stopped"><span>Until I stop it</span></label>
    </fieldset>
    <div id="t-classes" class="field" hidden></div>
    <div class="field"><label for="t-every">Save a checkpoint and a sample grid every … steps</label><input id="t-every" name="checkpoint_every" type="number" min="1" value="200" inputmode="numeric"></div>
    <div class="field"><label for="t-name">Name of the run (optional)</label><input id="t-name" name="name" type="text" autocomplete="off"></div>
    <details><summary>Start from an existing run (fine-tune)</summary>
      <div class="field"><label for="t-init">Run to start from</label><select id="t-init" name="init_from"><option value="">none: start from scratch</option>
        ${runs.runs.filter(r => r.latestCheckpoint != null).map(r => `<option value="${esc(r.name)}">${esc(r.name)}</option>`).join("")}</select></div>
      <div class="field"><label for="t-init-step">Its checkpoint (latest or a step)</label><input id="t-init-step" name="init_step" type="text" value="latest"></div>
    </details>
    <details><summary>Advanced settings</summary>
      <div class="field"><label for="t-batch">Pictures per step (batch)</label><input id="t-batch" name="batch" type="number" min="1" inputmode="numeric" placeholder="preset default"></div>
      <div class="field"><label for="t-threads">CPU threads (0 = all ${studio.cores})</label><input id="t-threads" name="threads" type="number" min="0" max="${studio.cores}" inputmode="numeric" placeholder="all"></div>
      <div class="field"><label for="t-lr">Learning rate</label><input id="t-lr" name="learning_rate" type="text" inputmode="decimal" placeholder="0.0002"></div>
      <div class="field"><label for="t-seed">Seed</label><input id="t-seed" name="seed" type="number" min="0" inputmode="numeric" placeholder="0"></div>
      <label class="choice"><input type="checkbox" name="flip" value="on"><span>Mirror pictures at random (not for letters)</span></label>
    </details>
    <p id="t-estimate" class="hint" aria-live="polite"></p>
    <button type="submit">Start training</button>
  </form>`;
  const form = $("#train-form");
  // A fine-tune keeps the model of the run it starts from: the presets are shown but do not apply, and the
  // estimate is that model's.
  const sourceRun = () => runs.runs.find(r => r.name === form.elements.init_from.value) || null;
  const syncSource = () => {
    const src = sourceRun();
    const title = src && (studio.presets.find(x => x.name === src.preset)?.title ?? src.preset ?? "its own model");
    for (const radio of $$("input[name=preset]", form)) {
      radio.disabled = !!src;
      if (src && radio.value === src.preset) radio.checked = true;
    }
    $("#t-model-legend").textContent = src ? `Model: the one of run ${src.name}` : "Model";
    const note = $("#t-model-from");
    note.hidden = !src;
    note.textContent = src ? `Fine-tuning starts from the model of ${src.name} (“${title}”) and keeps it; the choices below do not apply.` : "";
  };
  form.elements.init_from.addEventListener("change", syncSource);
  // The estimate: a few real training steps of the model, timed by the studio (cached per model and batch).
  const measured = new Map();
  const asking = new Set();
  const estimate = () => {
    const f = new FormData(form);
    const src = sourceRun();
    const p = studio.presets.find(x => x.name === (src ? src.preset : f.get("preset")));
    if (!p) {
      const out = $("#t-estimate");
      out.dataset.measured = "false";
      out.textContent = src ? `The model comes from run ${src.name}; there is no time estimate for it.` : "";
      return;
    }
    const batch = Number(f.get("batch")) || p.defaultBatch;
    const steps = f.get("length") === "steps" ? Number(f.get("steps")) : null;
    const threads = Number(f.get("threads")) || 0;
    const key = `${p.name}/${batch}/${threads}`;
    const m = measured.get(key);
    const out = $("#t-estimate");
    if (m && m.measured) {
      out.textContent = steps ? `About ${fmtTime(steps * m.secondsPerStep)} for ${steps} steps of “${p.title}” (measured on this computer: ${m.imagesPerSecond.toFixed(1)} pictures per second).`
        : `“${p.title}” trains ${m.imagesPerSecond.toFixed(1)} pictures per second on this computer; stop it when the samples please you.`;
      out.dataset.measured = "true";
      return;
    }
    out.dataset.measured = "false";
    const why = m && m.reason ? ` (${m.reason})` : "";
    out.textContent = !p.measuredImagesPerSecond
      ? (m ? `No time estimate for “${p.title}”${why}.` : `Measuring “${p.title}” on this computer…`)
      : steps ? `Estimate from the last “${p.title}” run here: about ${fmtTime(steps * batch / p.measuredImagesPerSecond)}${why}.`
      : `“${p.title}” managed ${p.measuredImagesPerSecond.toFixed(1)} pictures per second here; stop it when the samples please you.`;
    if (!m && !asking.has(key)) {
      asking.add(key);
      api("/api/estimate", { form: { preset: p.name, batch, threads } })
        .then(r => measured.set(key, r))
        .catch(e => measured.set(key, { measured: false, reason: e.message }))
        .finally(() => { asking.delete(key); if (document.body.contains(form)) estimate(); });
    }
  };
  form.addEventListener("input", estimate);
  form.addEventListener("change", estimate);
  estimate();
  // Classes: offered when every picture of the dataset sits in one of two or more subfolders.
  const classes = async () => {
    const box = $("#t-classes"), ds = form.elements.dataset.value;
    box.hidden = true; box.innerHTML = "";
    if (!ds) return;
    try {
      const r = await api(`/api/datasets/${enc(ds)}/report`);
      if (form.elements.dataset.value !== ds || !r.classes) return;
      box.innerHTML = `<label class="choice"><input type="checkbox" name="classes" value="subfolders" id="t-classes-on">
        <span>Learn classes from the subfolders: ${r.classes.length} (${esc(r.classes.slice(0, 12).join(", "))}${r.classes.length > 12 ? ", …" : ""})</span>
        <span class="hint">Then Generate can ask for one class, or all of them.</span></label>`;
      box.hidden = false;
    } catch { /* the report shows its own errors on the Datasets page */ }
  };
  form.elements.dataset?.addEventListener("change", classes);
  classes();
  onSubmit(form, async f => {
    const r = await api("/api/runs", { form: f });
    notify(r.message, r.queued ? "info" : "ok");
    location.hash = `#/run/${enc(r.run)}`;
  });
}

// ------------------------------------------------------------------ runs

async function RunsPage(main) {
  main.innerHTML = `<h1>Runs</h1><section><table><caption class="hint">Every run in the workspace, newest first</caption>
    <thead><tr><th scope="col">Run</th><th scope="col">State</th><th scope="col">Step</th><th scope="col">Model</th><th scope="col">Pictures</th><th scope="col">Actions</th></tr></thead>
    <tbody id="runs-body"></tbody></table></section>`;
  async function load() {
    const { runs } = await api("/api/runs");
    $("#runs-body").innerHTML = runs.length ? runs.map(r => `<tr data-run="${esc(r.name)}">
      <td><a href="#/run/${enc(r.name)}">${esc(r.name)}</a></td>
      <td>${stateBadge(r)} <span class="hint">${esc(r.stateText)}</span></td>
      <td>${stepText(r.step, r.total, r.untilStopped)}</td><td>${esc(r.preset ?? "—")}</td><td>${esc(r.dataset ?? "—")}</td>
      <td class="actions">${r.latestCheckpoint != null ? `<a class="button secondary" href="#/timeline/${enc(r.name)}">Timeline</a> <a class="button secondary" href="#/generate/${enc(r.name)}">Generate</a>` : ""}
        ${r.canResume ? `<button type="button" data-resume="${esc(r.name)}">Resume</button>` : ""}${r.canStop ? `<button type="button" data-stop="${esc(r.name)}">Stop</button>` : ""}</td></tr>`).join("")
      : `<tr><td colspan="6" class="muted">No run yet. <a href="#/train">Start a training.</a></td></tr>`;
    $$("[data-resume]").forEach(b => b.addEventListener("click", async () => {
      try { const r = await api(`/api/runs/${enc(b.dataset.resume)}/resume`, { form: {} }); notify(r.message, "ok"); }
      catch (e) { notify(e.message, "error"); }
    }));
    $$("[data-stop]").forEach(b => b.addEventListener("click", async () => {
      try { const r = await api(`/api/runs/${enc(b.dataset.stop)}/stop`, { form: {} }); notify(r.message, "ok"); }
      catch (e) { notify(e.message, "error"); }
    }));
  }
  await load();
  let timer = null;
  return {
    onEvent: t => { if ((t === "runs" || t === "queue") && !timer) timer = setTimeout(() => { timer = null; load(); }, 300); },
    dispose: () => clearTimeout(timer),
  };
}

// ------------------------------------------------------------------ one run, live

function drawChart(svg, points) {
  const W = 600, H = 240, L = 52, R = 12, T = 12, B = 28;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.dataset.points = points.length;
  const loss = points.filter(p => p.loss != null), val = points.filter(p => p.validationLoss != null);
  if (!loss.length) { svg.innerHTML = `<text x="${W / 2}" y="${H / 2}" text-anchor="middle">The loss appears after the first logged steps.</text>`; return; }
  const ys = loss.map(p => p.loss).concat(val.map(p => p.validationLoss));
  let lo = Math.min(...ys), hi = Math.max(...ys);
  if (hi - lo < 1e-9) { hi += 0.5 * Math.abs(hi || 1) * 0.1; lo -= 0.5 * Math.abs(lo || 1) * 0.1; }
  const x0 = points[0].step, x1 = Math.max(points[points.length - 1].step, x0 + 1);
  const X = s => L + (s - x0) / (x1 - x0) * (W - L - R), Y = v => T + (hi - v) / (hi - lo) * (H - T - B);
  const line = (pts, key) => pts.map(p => `${X(p.step).toFixed(1)},${Y(p[key]).toFixed(1)}`).join(" ");
  svg.innerHTML = `
    <line class="axis" x1="${L}" y1="${T}" x2="${L}" y2="${H - B}"/><line class="axis" x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}"/>
    <text x="${L - 6}" y="${T + 8}" text-anchor="end">${fmtNum(hi, 3)}</text><text x="${L - 6}" y="${H - B}" text-anchor="end">${fmtNum(lo, 3)}</text>
    <text x="${L}" y="${H - 8}">step ${x0}</text><text x="${W - R}" y="${H - 8}" text-anchor="end">step ${points[points.length - 1].step}</text>
    <polyline class="loss" points="${line(loss, "loss")}"/>${val.length ? `<polyline class="val" points="${line(val, "validationLoss")}"/>` : ""}
    ${val.map(p => `<circle class="val-point" cx="${X(p.step).toFixed(1)}" cy="${Y(p.validationLoss).toFixed(1)}" r="3.5"><title>validation loss ${fmtNum(p.validationLoss)} at step ${p.step}</title></circle>`).join("")}
    <text x="${W - R}" y="${T + 8}" text-anchor="end">— loss${val.length ? "   - - validation loss" : ""}</text>`;
}

async function RunPage(main, [name]) {
  if (!name) { location.hash = "#/runs"; return; }
  main.innerHTML = `<h1>Run ${esc(name)}</h1><div id="run-body"><p class="muted">Loading…</p></div>`;
  let detail, metrics = [];
  const body = $("#run-body");
  async function load() {
    try { detail = await api(`/api/runs/${enc(name)}`); }
    catch (e) { body.innerHTML = `<p class="field-error">${esc(e.message)}</p>`; return; }
    metrics = detail.metrics.slice();
    const r = detail.run, job = detail.job;
    const newest = detail.grids.length ? detail.grids[detail.grids.length - 1] : null;
    body.innerHTML = `
    <p>${stateBadge(r)} <span id="r-state-text">${esc(r.stateText)}</span></p>
    <section aria-label="Progress">
      <div class="stats">
        <div><span class="label" id="l-step">Step</span><output id="r-step" aria-labelledby="l-step">${stepText(job?.step || r.step, job?.total ?? r.total, r.untilStopped)}</output></div>
        <div><span class="label" id="l-ips">Pictures / s</span><output id="r-ips" aria-labelledby="l-ips">${job?.imagesPerSecond != null ? job.imagesPerSecond.toFixed(1) : "—"}</output></div>
        <div><span class="label" id="l-eta">Time left</span><output id="r-eta" aria-labelledby="l-eta">${r.untilStopped ? "until you stop" : fmtTime(job?.etaSeconds)}</output></div>
        <div><span class="label" id="l-loss">Loss</span><output id="r-loss" aria-labelledby="l-loss">${fmtNum(job?.loss ?? metrics.at(-1)?.loss)}</output></div>
      </div>
      <progress id="r-progress" aria-label="Training progress" max="${r.untilStopped ? 1 : (r.total || 1)}" value="${r.untilStopped ? 0 : (job?.step || r.step)}"></progress>
      <p class="hint" id="r-hint">${detail.hint ? esc(detail.hint) : "How is it going? Compare the sample grids over time, or open the timeline."}</p>
      <div class="actions">
        ${r.canStop ? `<button type="button" id="r-stop">Stop (a checkpoint is saved first)</button>` : ""}
        ${r.canResume ? `<form id="r-resume"><div class="inline-field"><label for="r-resume-steps">New total steps (optional)</label>
          <input id="r-resume-steps" name="steps" type="number" min="1" inputmode="numeric"></div><button type="submit">Resume</button></form>` : ""}
        ${r.latestCheckpoint != null ? `<a class="button secondary" href="#/timeline/${enc(name)}">Checkpoint timeline</a><a class="button secondary" href="#/generate/${enc(name)}">Generate</a>` : ""}
      </div>
    </section>
    <div class="cols">
      <section><h2>Loss</h2><svg class="chart" id="r-chart" role="img" aria-label="Loss over the training steps"></svg></section>
      <section><h2 id="r-grid-title">Newest sample grid${newest ? `, step ${newest.step}` : ""}</h2>
        ${newest ? `<img class="grid" id="r-grid" src="${esc(newest.url)}" alt="Sample grid at step ${newest.step}">` : `<p class="muted" id="r-grid-none">A grid appears at the first checkpoint.</p><img class="grid" id="r-grid" hidden alt="">`}</section>
    </div>
    <section><h2>Settings</h2><dl class="settings">${Object.entries(detail.settings).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl></section>
    <section><h2>Log</h2><pre class="log" id="r-log">${esc(detail.logTail.join("\n"))}</pre></section>
    ${!r.canStop ? `<section><h2>Remove this run</h2><form id="r-remove" class="actions"><div class="inline-field"><label for="r-confirm">Type ${esc(name)} to move it to the trash</label>
      <input id="r-confirm" name="confirm" type="text" autocomplete="off"></div><button type="submit" class="danger">Move to trash</button></form></section>` : ""}`;
    drawChart($("#r-chart"), metrics);
    $("#r-stop")?.addEventListener("click", async ev => {
      ev.target.disabled = true;
      try { notify((await api(`/api/runs/${enc(name)}/stop`, { form: {} })).message, "ok"); } catch (e) { notify(e.message, "error"); }
    });
    const resume = $("#r-resume");
    if (resume) onSubmit(resume, async f => notify((await api(`/api/runs/${enc(name)}/resume`, { form: f })).message, "ok"));
    const remove = $("#r-remove");
    if (remove) onSubmit(remove, async f => { notify((await api(`/api/runs/${enc(name)}/remove`, { form: f })).message, "ok"); location.hash = "#/runs"; });
  }
  await load();
  let timer = null;
  const reload = () => { if (!timer) timer = setTimeout(() => { timer = null; load(); }, 250); };
  return {
    onEvent(type, d) {
      if (d.run !== name && type !== "queue") return;
      if (type === "progress") {
        $("#r-step").textContent = stepText(d.step, d.total, d.untilStopped);
        $("#r-ips").textContent = d.imagesPerSecond != null ? d.imagesPerSecond.toFixed(1) : "—";
        $("#r-eta").textContent = d.untilStopped ? "until you stop" : fmtTime(d.etaSeconds);
        $("#r-loss").textContent = fmtNum(d.loss);
        const bar = $("#r-progress");
        if (!d.untilStopped) { bar.max = d.total; bar.value = d.step; }
        const chart = $("#r-chart");
        let grew = false;
        if (d.loss != null && !d.checkpointStep) { metrics.push({ step: d.step, loss: d.loss }); grew = true; }
        if (d.validationLoss != null) {
          metrics.push({ step: d.step, loss: null, validationLoss: d.validationLoss });
          chart.dataset.liveValidation = "true";
          grew = true;
        }
        if (grew) drawChart(chart, metrics);
        if (d.hint) { const hint = $("#r-hint"); hint.textContent = d.hint; hint.dataset.live = "true"; }
        if (d.grid) {
          const img = $("#r-grid");
          img.src = d.grid + "?t=" + Date.now(); img.alt = `Sample grid at step ${d.step}`; img.hidden = false;
          $("#r-grid-none")?.remove();
          $("#r-grid-title").textContent = `Newest sample grid, step ${d.step}`;
        }
      } else if (type === "log") {
        const log = $("#r-log"); log.textContent += `\n${d.level}: ${d.message}`; log.scrollTop = log.scrollHeight;
      } else if (type === "runs" || (type === "queue")) {
        const phase = detail?.job?.phase;
        const now = d.current?.run === name ? d.current.phase : (d.waiting?.some(w => w.run === name) ? "queued" : null);
        if (type === "runs" || phase !== now) reload();
      } else if (type === "failed") {
        notify(`Training failed: ${d.message}`, "error"); reload();
      }
    },
    dispose: () => clearTimeout(timer),
  };
}

// ------------------------------------------------------------------ checkpoint timeline

async function TimelinePage(main, [name]) {
  if (!name) { location.hash = "#/runs"; return; }
  const d = await api(`/api/runs/${enc(name)}`);
  main.innerHTML = `
  <h1>Checkpoint timeline: ${esc(name)}</h1>
  <p class="hint">The sample grid of every checkpoint, side by side, all from the same seed: watch the pictures form. Choose one to generate from it.
    ${d.bestStep != null ? `The best by validation loss is marked.` : `Validation loss is not measured for this run, so no checkpoint is marked best.`}</p>
  <section><ol class="timeline" id="timeline">${d.grids.length ? d.grids.map(g => {
    const caption = `<span>step ${g.step}</span><span class="hint">loss ${fmtNum(g.loss)}${g.validationLoss != null ? ` · validation ${fmtNum(g.validationLoss)}` : ""}</span>${d.bestStep === g.step ? `<span class="best">best</span>` : ""}`;
    return `<li>${g.hasCheckpoint
      ? `<a href="#/generate/${enc(name)}?step=${g.step}" aria-label="Generate from the checkpoint of step ${g.step}"><img src="${esc(g.url)}" alt="Sample grid at step ${g.step}">${caption}</a>`
      : `<div class="gone"><img src="${esc(g.url)}" alt="Sample grid at step ${g.step}">${caption}<span class="hint">checkpoint removed; grid only</span></div>`}</li>`;
  }).join("") : `<li class="muted">No sample grid yet: the first appears at the first checkpoint.</li>`}</ol></section>
  <p><a href="#/run/${enc(name)}">Back to the run</a></p>`;
  return { onEvent: (t, e) => { if (t === "progress" && e.run === name && e.grid) TimelinePage(main, [name]); } };
}

// ------------------------------------------------------------------ generate

async function GeneratePage(main, [name], params) {
  const { runs } = await api("/api/runs");
  const usable = runs.filter(r => r.latestCheckpoint != null);
  if (!name && usable.length) name = usable[0].name;
  if (!name) { main.innerHTML = `<h1>Generate</h1><p class="coming">No run has a checkpoint yet. <a href="#/train">Start a training</a> first.</p>`; return; }
  const d = await api(`/api/runs/${enc(name)}`);
  const step = params.get("step");
  const cps = d.checkpoints.filter(c => c.usable);
  main.innerHTML = `
  <h1>Generate</h1>
  <form class="card" id="g-form">
    <div class="cols">
      <div>
        <div class="field"><label for="g-run">Run</label><select id="g-run" name="run">${usable.map(r => `<option value="${esc(r.name)}" ${r.name === name ? "selected" : ""}>${esc(r.name)}</option>`).join("")}</select></div>
        <div class="field"><label for="g-checkpoint">Checkpoint</label><select id="g-checkpoint" name="checkpoint"><option value="latest">latest</option>
          ${cps.map(c => `<option value="${c.step}" ${String(c.step) === step ? "selected" : ""}>step ${c.step}</option>`).join("")}</select></div>
        <div class="field"><label for="g-sampler">Sampler</label><select id="g-sampler" name="sampler">${studio.samplers.map(s => `<option ${s === "ddim" ? "selected" : ""}>${esc(s)}</option>`).join("")}</select></div>
        <div class="field"><label for="g-steps">Sampling steps (0 = the sampler's default)</label><input id="g-steps" name="steps" type="number" min="0" max="1000" value="0" inputmode="numeric"></div>
      </div>
      <div>
        <div class="field"><label for="g-seed">Seed</label><input id="g-seed" name="seed" type="number" min="0" value="0" inputmode="numeric"></div>
        <div class="field"><label for="g-count">How many pictures (seed, seed+1, …)</label><input id="g-count" name="count" type="number" min="1" max="64" value="4" inputmode="numeric"></div>
        <div class="field"><label for="g-seed-to">Or up to seed (optional, a range)</label><input id="g-seed-to" name="seed_to" type="number" min="0" inputmode="numeric"></div>
        <div class="field"><label for="g-eta">DDIM η (0 = the same picture for a seed every time)</label><input id="g-eta" name="eta" type="text" inputmode="decimal" value="0"></div>
      </div>
      ${d.classNames ? `<div>
        <div class="field"><label for="g-class">Class</label><select id="g-class" name="class"><option value="all">all classes (one row each)</option>
          ${d.classNames.map(c => `<option value="${esc(c)}">${esc(c)}</option>`).join("")}<option value="">none (the model's unconditional guess)</option></select></div>
        <div class="field"><label for="g-guidance">Guidance (how strongly the class is followed; 1 = plain, 2–4 usual)</label><input id="g-guidance" name="guidance" type="text" inputmode="decimal" value="2"></div>
      </div>` : d.unnamedClasses ? `<div>
        <div class="field"><label for="g-class">Class index (0 to ${d.unnamedClasses - 1}; this model's classes have no names${d.unnamedClasses === 1000 ? ": the ImageNet class index" : ""})</label>
          <input id="g-class" name="class" type="number" min="0" max="${d.unnamedClasses - 1}" value="0" inputmode="numeric" ${d.nullClass ? "" : "required"}></div>
        ${d.nullClass ? `<div class="field"><label for="g-guidance">Guidance (how strongly the class is followed; 1 = plain, 2–4 usual)</label><input id="g-guidance" name="guidance" type="text" inputmode="decimal" value="2"></div>`
                      : `<p class="hint">This model was trained without a “no class” label, so it follows the class plainly (guidance 1).</p>`}
      </div>` : ""}
    </div>
    <button type="submit">Generate</button> <span id="g-status" class="hint" role="status"></span>
  </form>
  <section><h2>Favourites</h2><p class="hint">A star copies the picture, with the settings that made it, to the run's favourites folder.
    “Variations” makes pictures from the seeds around a favourite's, with all its other settings.</p>
    <div class="gallery" id="g-favs"></div><p id="g-regen" role="status" aria-live="polite"></p></section>
  <section><h2>Gallery</h2><div id="g-gallery"></div></section>`;
  $("#g-run").addEventListener("change", e => { location.hash = `#/generate/${enc(e.target.value)}`; });

  const gallery = () => showGallery(name, $("#g-favs"), $("#g-gallery"), $("#g-regen"));
  onSubmit($("#g-form"), async f => {
    f.delete("run");
    $("#g-status").textContent = "Generating…";
    try { const b = await api(`/api/runs/${enc(name)}/generate`, { form: f }); $("#g-status").textContent = `Made ${b.images.length} picture(s).`; }
    finally { if ($("#g-status").textContent === "Generating…") $("#g-status").textContent = ""; }
    await gallery();
  });
  await gallery();
}

/** The favourites and the generated batches of a run, with star, un-star, make again, variations and downloads. */
async function showGallery(name, favs, galleryBox, status, filter = () => true) {
  const describe = img => {
    const what = img.kind === "edit" ? `edit, strength ${img.strength ?? "?"}` : img.kind === "inpaint" ? "inpainting" : null;
    return `${what ? esc(what) + " · " : ""}${img.class != null ? `class ${esc(img.class)} · ` : ""}seed ${img.seed ?? "?"} · step ${img.step ?? "?"}`;
  };
  const card = (img, fav) => `<figure data-path="${esc(img.path)}" data-kind="${esc(img.kind)}"><a href="${esc(img.url)}" target="_blank" rel="noopener"><img src="${esc(img.url)}" alt="${img.kind === "sample" ? "Picture" : img.kind === "edit" ? "Edited picture" : "Inpainted picture"}, seed ${img.seed ?? "?"}, checkpoint step ${img.step ?? "?"}" loading="lazy"></a>
    <figcaption>${describe(img)}
      ${fav ? `<button type="button" data-regen="${esc(img.path.replace(/^favourites\//, ""))}">Make again</button>
               ${img.kind === "sample" ? `<button type="button" class="secondary" data-vary="${esc(img.path.replace(/^favourites\//, ""))}">Variations</button>` : ""}
               <button type="button" class="star" aria-pressed="true" data-unstar="${esc(img.path.replace(/^favourites\//, ""))}" aria-label="Remove the star: seed ${img.seed ?? "?"}">★</button>`
            : `<button type="button" class="star" data-star="${esc(img.path)}" aria-pressed="${img.favourite}" aria-label="${img.favourite ? "A favourite" : "Star"}: seed ${img.seed ?? "?"}">${img.favourite ? "★" : "☆"}</button>`}
      <a href="${esc(img.url)}?download=true" download>PNG</a></figcaption></figure>`;
  const g = await api(`/api/runs/${enc(name)}/gallery`);
  const batches = g.batches.filter(filter);
  favs.innerHTML = g.favourites.images.length ? g.favourites.images.map(i => card(i, true)).join("")
    + `<p><a class="button secondary" href="/api/runs/${enc(name)}/zip?folder=favourites" download>Download favourites (zip)</a></p>` : `<p class="muted">No favourite yet.</p>`;
  galleryBox.innerHTML = batches.length ? batches.map(b => `<h3>${esc(b.title)}</h3><div class="gallery">${b.images.map(i => card(i, false)).join("")}</div>
    <p><a class="button secondary" href="/api/runs/${enc(name)}/zip?folder=${enc(b.folder)}" download>Download these (zip)</a></p>`).join("") : `<p class="muted">Nothing made yet.</p>`;
  const again = () => showGallery(name, favs, galleryBox, status, filter);
  $$("[data-star]", galleryBox).forEach(b => b.addEventListener("click", async () => {
    try { await api(`/api/runs/${enc(name)}/star`, { form: { path: b.dataset.star } }); notify("Starred: copied to favourites with its settings.", "ok"); await again(); }
    catch (e) { notify(e.message, "error"); }
  }));
  $$("[data-unstar]", favs).forEach(b => b.addEventListener("click", async () => {
    try { const r = await api(`/api/runs/${enc(name)}/unstar`, { form: { favourite: b.dataset.unstar } }); notify(r.message.charAt(0).toUpperCase() + r.message.slice(1) + ".", "ok"); await again(); }
    catch (e) { notify(e.message, "error"); }
  }));
  $$("[data-vary]", favs).forEach(b => b.addEventListener("click", async () => {
    b.disabled = true; status.textContent = "Making variations…";
    try { const r = await api(`/api/runs/${enc(name)}/variations`, { form: { favourite: b.dataset.vary } }); status.textContent = `Made ${r.images.length} variation(s) from the seeds around it.`; await again(); }
    catch (e) { status.textContent = e.message; }
    finally { b.disabled = false; }
  }));
  $$("[data-regen]", favs).forEach(b => b.addEventListener("click", async () => {
    b.disabled = true; status.textContent = "Making it again…";
    try {
      const r = await api(`/api/runs/${enc(name)}/regenerate`, { form: { favourite: b.dataset.regen } });
      status.innerHTML = `<span id="regen-verdict" data-same="${r.sameBytes}">${r.sameBytes ? "✓ " : "✗ "}${esc(r.message)}</span> <img src="${esc(r.image.url)}" alt="The favourite made again" width="64" style="image-rendering:pixelated;vertical-align:middle">`;
      await again();
    } catch (e) { status.textContent = e.message; }
    finally { b.disabled = false; }
  }));
  return g;
}

// ------------------------------------------------------------------ edit and inpaint

async function EditPage(main, [name], params) {
  const { runs } = await api("/api/runs");
  const usable = runs.filter(r => r.latestCheckpoint != null);
  if (!name && usable.length) name = usable[0].name;
  if (!studio.editAvailable || !name) {
    main.innerHTML = `<h1>Edit and inpaint</h1><p class="coming" id="edit-coming">No run has a checkpoint yet. <a href="#/train">Start a training</a>; once it has saved a checkpoint, you can redraw pictures with it here.</p>`;
    return;
  }
  const d = await api(`/api/runs/${enc(name)}`);
  const g = await api(`/api/runs/${enc(name)}/gallery`);
  const own = g.favourites.images.concat(g.batches.flatMap(b => b.images)).filter((x, i, all) => all.findIndex(y => y.path === x.path) === i).slice(0, 60);
  const cps = d.checkpoints.filter(c => c.usable);
  const mode = params.get("mode") === "inpaint" ? "inpaint" : "edit";
  main.innerHTML = `
  <h1>Edit and inpaint</h1>
  <form class="card" id="e-form">
    <div class="cols">
      <div>
        <div class="field"><label for="e-run">Run</label><select id="e-run" name="run">${usable.map(r => `<option value="${esc(r.name)}" ${r.name === name ? "selected" : ""}>${esc(r.name)}</option>`).join("")}</select></div>
        <div class="field"><label for="e-checkpoint">Checkpoint</label><select id="e-checkpoint" name="checkpoint"><option value="latest">latest</option>
          ${cps.map(c => `<option value="${c.step}">step ${c.step}</option>`).join("")}</select></div>
        <fieldset><legend>What to do</legend>
          <label class="choice"><input type="radio" name="mode" value="edit" ${mode === "edit" ? "checked" : ""}><strong>Redraw the whole picture</strong>
            <span class="hint">The strength says how much may change: low keeps the shapes, high keeps little.</span></label>
          <label class="choice"><input type="radio" name="mode" value="inpaint" ${mode === "inpaint" ? "checked" : ""}><strong>Fill in a painted area</strong>
            <span class="hint">Paint over what should be made anew (white in the mask); the rest stays exactly as it is.</span></label>
        </fieldset>
        <div class="field"><label for="e-image">Picture to start from (upload)</label>
          <input id="e-image" name="image" type="file" accept="image/png,image/jpeg,image/webp,image/gif,image/bmp"></div>
        <div class="field"><label for="e-source">Or one of this run's pictures</label><select id="e-source" name="source"><option value="">—</option>
          ${own.map(i => `<option value="${esc(i.path)}">${esc(i.path.startsWith("favourites/") ? "★ " : "")}${esc(i.class != null ? i.class + ", " : "")}seed ${i.seed ?? "?"}, step ${i.step ?? "?"} (${esc(i.path.split("/").slice(-2, -1)[0] || "")})</option>`).join("")}</select></div>
      </div>
      <div>
        <div class="paint" id="e-paint">
          <canvas id="e-picture" width="256" height="256" aria-hidden="true"></canvas>
          <canvas id="e-mask-view" width="256" height="256" role="img" aria-label="The picture; in fill-in mode, paint on it with the pointer"></canvas>
          <p class="muted" id="e-empty">Choose a picture to see it here.</p>
        </div>
        <p class="hint" id="e-crop-note" hidden>The model sees the centre square of this picture (the shaded parts are left out), as in training.</p>
        <div id="e-mask-tools" class="actions">
          <div class="inline-field"><label for="e-brush">Brush size</label><input id="e-brush" type="range" min="4" max="96" value="28"></div>
          <div class="inline-field"><label for="e-quick">Quick mask</label><select id="e-quick" data-field="mask">
            <option value="center">centre square</option><option value="left">left half</option><option value="right">right half</option>
            <option value="top">top half</option><option value="bottom">bottom half</option></select></div>
          <button type="button" class="secondary" id="e-quick-apply">Add to the mask</button>
          <button type="button" class="secondary" id="e-clear">Clear the mask</button>
        </div>
      </div>
      <div>
        <div class="field" id="e-strength-field"><label for="e-strength">Strength: <output id="e-strength-out">0.5</output></label>
          <input id="e-strength" name="strength" type="range" min="0" max="1" step="0.05" value="0.5"></div>
        <div class="field inpaint-only"><label for="e-jumps">Resampling rounds (1 = none; more blends better, slower)</label><input id="e-jumps" name="jumps" type="number" min="1" max="20" value="5" inputmode="numeric"></div>
        <div class="field inpaint-only"><label for="e-jump-length">Jump length (steps)</label><input id="e-jump-length" name="jump_length" type="number" min="1" max="100" value="5" inputmode="numeric"></div>
        <div class="field"><label for="e-sampler">Sampler</label><select id="e-sampler" name="sampler">${studio.samplers.map(x => `<option>${esc(x)}</option>`).join("")}</select></div>
        <div class="field"><label for="e-steps">Sampling steps (0 = the sampler's default)</label><input id="e-steps" name="steps" type="number" min="0" max="1000" value="0" inputmode="numeric"></div>
        <div class="field"><label for="e-seed">Seed</label><input id="e-seed" name="seed" type="number" min="0" value="0" inputmode="numeric"></div>
        <div class="field"><label for="e-count">How many versions (seed, seed+1, …)</label><input id="e-count" name="count" type="number" min="1" max="16" value="4" inputmode="numeric"></div>
      </div>
    </div>
    <button type="submit" id="e-submit">Redraw</button> <span id="e-status" class="hint" role="status"></span>
  </form>
  <section><h2>Favourites</h2><div class="gallery" id="e-favs"></div><p id="e-regen" role="status" aria-live="polite"></p></section>
  <section><h2>Edits and inpaintings</h2><p class="hint">Each picture carries its settings, the strength or mask, and where its input is kept (the run's inputs folder).</p><div id="e-gallery"></div></section>`;
  $("#e-run").addEventListener("change", e => { location.hash = `#/edit/${enc(e.target.value)}`; });

  const form = $("#e-form");
  const picture = $("#e-picture"), view = $("#e-mask-view");
  const pctx = picture.getContext("2d"), vctx = view.getContext("2d");
  const mask = document.createElement("canvas");
  const mctx = mask.getContext("2d");
  // The canvases (picture, painted view and the mask sent) take the picture's proportions, its longer side 256 px:
  // the library brings picture and mask to the model's size the same way (centre crop or letterbox), so they match.
  let W = 256, H = 256;
  const fit = (w, h) => {
    const k = 256 / Math.max(w, h);
    W = Math.max(1, Math.round(w * k)); H = Math.max(1, Math.round(h * k));
    for (const c of [picture, view, mask]) { c.width = W; c.height = H; }
    for (const c of [picture, view]) Object.assign(c.style, { width: `${W}px`, height: `${H}px`, left: `${(256 - W) / 2}px`, top: `${(256 - H) / 2}px` });
  };
  fit(256, 256);
  let hasPicture = false, painted = false;
  const clearMask = () => { mctx.fillStyle = "#000"; mctx.fillRect(0, 0, W, H); vctx.clearRect(0, 0, W, H); painted = false; };
  clearMask();
  const currentMode = () => form.elements.mode.value;
  const sync = () => {
    const inpaint = currentMode() === "inpaint";
    $$(".inpaint-only").forEach(e => e.hidden = !inpaint);
    $("#e-strength-field").hidden = inpaint;
    $("#e-mask-tools").hidden = !inpaint;
    view.classList.toggle("painting", inpaint);
    view.style.visibility = inpaint ? "visible" : "hidden";
    $("#e-submit").textContent = inpaint ? "Fill in" : "Redraw";
    form.elements.sampler.value = inpaint ? "ddpm" : "ddim";
    $("#e-strength-out").textContent = form.elements.strength.value;
  };
  form.addEventListener("change", e => { if (e.target.name === "mode") sync(); });
  form.elements.strength.addEventListener("input", () => { $("#e-strength-out").textContent = form.elements.strength.value; });
  sync();

  const show = src => new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      fit(img.naturalWidth, img.naturalHeight);
      pctx.imageSmoothingEnabled = false;
      pctx.fillStyle = "#fff"; pctx.fillRect(0, 0, W, H);
      pctx.drawImage(img, 0, 0, W, H);
      const cropped = d.resize !== "pad" && W !== H;
      if (cropped) {   // what a centre crop leaves out
        const side = Math.min(W, H);
        pctx.fillStyle = "rgba(40, 40, 40, .45)";
        if (W > H) { pctx.fillRect(0, 0, (W - side) / 2, H); pctx.fillRect((W + side) / 2, 0, (W - side) / 2, H); }
        else { pctx.fillRect(0, 0, W, (H - side) / 2); pctx.fillRect(0, (H + side) / 2, W, (H - side) / 2); }
      }
      $("#e-crop-note").hidden = !cropped;
      hasPicture = true; $("#e-empty").hidden = true; clearMask(); resolve();
    };
    img.onerror = () => reject(new Error("this picture cannot be shown"));
    img.src = src;
  });
  form.elements.image.addEventListener("change", () => {
    const file = form.elements.image.files[0];
    if (file) { form.elements.source.value = ""; show(URL.createObjectURL(file)).catch(e => notify(e.message, "error")); }
  });
  form.elements.source.addEventListener("change", () => {
    const pick = own.find(i => i.path === form.elements.source.value);
    if (pick) { form.elements.image.value = ""; show(pick.url).catch(e => notify(e.message, "error")); }
  });

  // The brush: white on the (hidden) mask, translucent red on the picture.
  const stroke = (from, to) => {
    const w = Number($("#e-brush").value);
    for (const [ctx, colour] of [[mctx, "#fff"], [vctx, "rgba(230, 30, 90, .55)"]]) {
      ctx.strokeStyle = colour; ctx.lineWidth = w; ctx.lineCap = "round"; ctx.lineJoin = "round";
      ctx.beginPath(); ctx.moveTo(from.x, from.y); ctx.lineTo(to.x, to.y); ctx.stroke();
    }
    painted = true;
  };
  const at = e => { const r = view.getBoundingClientRect(); return { x: (e.clientX - r.left) * W / r.width, y: (e.clientY - r.top) * H / r.height }; };
  let last = null;
  view.addEventListener("pointerdown", e => { if (currentMode() !== "inpaint") return; view.setPointerCapture(e.pointerId); last = at(e); stroke(last, last); });
  view.addEventListener("pointermove", e => { if (!last) return; const p = at(e); stroke(last, p); last = p; });
  const up = () => { last = null; };
  view.addEventListener("pointerup", up); view.addEventListener("pointercancel", up);
  $("#e-clear").addEventListener("click", clearMask);
  $("#e-quick-apply").addEventListener("click", () => {
    const area = { center: [W / 4, H / 4, W / 2, H / 2], left: [0, 0, W / 2, H], right: [W / 2, 0, W / 2, H], top: [0, 0, W, H / 2], bottom: [0, H / 2, W, H / 2] }[$("#e-quick").value];
    mctx.fillStyle = "#fff"; mctx.fillRect(...area);
    vctx.fillStyle = "rgba(230, 30, 90, .55)"; vctx.fillRect(...area);
    painted = true;
  });

  const gallery = () => showGallery(name, $("#e-favs"), $("#e-gallery"), $("#e-regen"), b => b.images.some(i => i.kind === "edit" || i.kind === "inpaint"));
  onSubmit(form, async f => {
    const inpaint = currentMode() === "inpaint";
    f.delete("run"); f.delete("mode");
    if (!f.get("source")) f.delete("source");
    if (!(f.get("image") instanceof File) || !f.get("image").size) f.delete("image");
    if (inpaint) {
      f.delete("strength");
      if (!hasPicture) throw Object.assign(new Error("image: choose a picture first"), { field: "image" });
      if (!painted) throw Object.assign(new Error("mask: paint the area to make anew, or add a quick mask"), { field: "mask" });
      f.append("mask", await new Promise(r => mask.toBlob(r, "image/png")), "mask.png");
    } else { f.delete("jumps"); f.delete("jump_length"); }
    $("#e-status").textContent = inpaint ? "Filling in…" : "Redrawing…";
    try {
      const b = await api(`/api/runs/${enc(name)}/${inpaint ? "inpaint" : "edit"}`, { form: f });
      $("#e-status").textContent = `Made ${b.images.length} picture(s).`;
    } catch (e) { $("#e-status").textContent = ""; throw e; }
    await gallery();
  });
  await gallery();
}

// ------------------------------------------------------------------ start

const events = new EventSource("/api/events");
for (const type of ["progress", "queue", "runs", "datasets", "log", "failed"]) {
  events.addEventListener(type, e => {
    const data = JSON.parse(e.data);
    if (type === "queue") renderMachine(data);
    if (type === "progress" && machine && machine.current && machine.current.run === data.run) {
      Object.assign(machine.current, { step: data.step, total: data.total, phase: "training" });
      renderMachine(machine);
    }
    if (type === "failed") notify(`Training of ${data.run} failed: ${data.message}`, "error");
    if (page && page.onEvent) page.onEvent(type, data);
  });
}
window.addEventListener("hashchange", () => route(true).catch(e => notify(e.message, "error")));
route().then(() => renderMachine(studio.queue)).catch(e => notify(e.message, "error"));
