// The New training page: pictures, model, length, checkpoints and advanced settings, with a time estimate measured on
// this computer. The form's defaults are the library's, read from the server.
import { api } from "../api.js";
import { $, $$, enc, esc, fmtTime, notify, onSubmit } from "../ui.js";

/** The library's training defaults for a preset and a length, or null when the studio cannot say (an older studio). */
async function trainingDefaults({ preset, steps }) {
  const query = new URLSearchParams();
  if (preset) query.set("preset", preset);
  if (steps) query.set("steps", steps);
  try { return await api(`/api/training/defaults${query.toString() ? "?" + query : ""}`); }
  catch { return null; }
}

export default async function TrainPage(main, _, params, { studio }) {
  const [datasets, runs, defaults] = await Promise.all([api("/api/datasets"), api("/api/runs"), trainingDefaults({})]);
  const chosen = params.get("dataset");
  main.innerHTML = `
  <h1>New training</h1>
  ${datasets.length ? "" : `<p class="coming">There is no dataset yet. <a href="#/datasets">Add your pictures first.</a></p>`}
  <form class="card" id="train-form">
    <div class="field"><label for="t-dataset">Pictures</label>
      <select id="t-dataset" name="dataset">${datasets.map(d => `<option value="${esc(d.name)}" ${d.name === chosen ? "selected" : ""}>${esc(d.name)}</option>`).join("")}</select></div>
    <fieldset><legend id="t-model-legend">Model</legend>
      <p class="hint" id="t-model-from" hidden></p>
      ${studio.presets.map(p => `<label class="choice"><input type="radio" name="preset" value="${esc(p.name)}">
        <strong>${esc(p.title)}</strong><span class="hint">${esc(p.description)}</span><span class="hint estimate" data-preset="${esc(p.name)}"></span></label>`).join("")}
    </fieldset>
    <fieldset><legend>How long</legend>
      <label class="choice"><input type="radio" name="length" value="steps" checked><span>A number of steps</span></label>
      <div class="field"><label for="t-steps">Steps</label><input id="t-steps" name="steps" type="number" min="1" inputmode="numeric"></div>
      <label class="choice"><input type="radio" name="length" value="until-stopped"><span>Until I stop it</span></label>
    </fieldset>
    <div id="t-classes" class="field" hidden></div>
    <div class="field"><label for="t-every">Save a checkpoint and a sample grid every … steps</label><input id="t-every" name="checkpoint_every" type="number" min="1" inputmode="numeric"></div>
    <div class="field"><label for="t-name">Name of the run (optional)</label><input id="t-name" name="name" type="text" autocomplete="off"></div>
    <details><summary>Start from an existing run (fine-tune)</summary>
      <div class="field"><label for="t-init">Run to start from</label><select id="t-init" name="init_from"><option value="">none: start from scratch</option>
        ${runs.runs.filter(r => r.latestCheckpoint != null).map(r => `<option value="${esc(r.name)}">${esc(r.name)}</option>`).join("")}</select></div>
      <div class="field"><label for="t-init-step">Its checkpoint (latest or a step)</label><input id="t-init-step" name="init_step" type="text" value="latest"></div>
    </details>
    <details><summary>Advanced settings</summary>
      <div class="field"><label for="t-batch">Pictures per step (batch)</label><input id="t-batch" name="batch" type="number" min="1" inputmode="numeric" data-default="placeholder"></div>
      <div class="field"><label for="t-threads">CPU threads (0 = all ${studio.cores})</label><input id="t-threads" name="threads" type="number" min="0" max="${studio.cores}" inputmode="numeric" placeholder="all"></div>
      <div class="field"><label for="t-lr">Learning rate</label><input id="t-lr" name="learning_rate" type="text" inputmode="decimal" data-default="placeholder"></div>
      <div class="field"><label for="t-seed">Seed</label><input id="t-seed" name="seed" type="number" min="0" inputmode="numeric" data-default="placeholder"></div>
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
  // The defaults come from the library (GET /api/training/defaults), for the chosen model and length: a field the
  // person has not touched shows them, as its value or, for the advanced settings, as its placeholder (left empty,
  // the server uses the same default). Without that endpoint the form stays as it is and still submits.
  const touched = new Set();
  const applyDefaults = d => {
    if (!d) return;
    for (const [key, value] of Object.entries(d)) {
      const field = form.elements.namedItem(key);
      if (!field || value == null || typeof value === "object") continue;
      if (field instanceof RadioNodeList) {
        if (!touched.has(key) && !sourceRun()) for (const radio of field) radio.checked = radio.value === String(value);
      } else if (field.type === "checkbox") {
        if (!touched.has(key)) field.checked = value === true;
      } else if (field.dataset.default === "placeholder") field.placeholder = String(value);
      else if (!touched.has(key)) field.value = String(value);
    }
  };
  let asked = 0, typing = null;
  const askDefaults = async () => {
    const f = new FormData(form);
    const src = sourceRun();
    const untilStopped = f.get("length") !== "steps";
    const steps = untilStopped ? studio.untilStopped : Number(f.get("steps"));
    const mine = ++asked;
    const d = await trainingDefaults({ preset: src ? src.preset : f.get("preset"), steps: Number.isInteger(steps) && steps > 0 ? steps : null });
    if (d && untilStopped) delete d.steps;   // the steps field keeps a number for when the person comes back to it
    if (mine === asked && document.body.contains(form)) { applyDefaults(d); estimate(); }
  };
  form.addEventListener("input", e => { if (e.target.name) touched.add(e.target.name); });
  form.addEventListener("change", e => {
    if (e.target.name) touched.add(e.target.name);
    if (["preset", "length", "init_from"].includes(e.target.name)) askDefaults();
  });
  form.elements.steps.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(askDefaults, 250); });
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
  applyDefaults(defaults);
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
