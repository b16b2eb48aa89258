// The Generate page: pictures from a run's checkpoint with a sampler, seeds and (for a class model) a class.
import { api } from "../api.js";
import { showGallery } from "../gallery.js";
import { $, enc, esc, onSubmit } from "../ui.js";

export default async function GeneratePage(main, [name], params, { studio }) {
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
        <div class="field"><label for="g-sampler">Sampler</label><select id="g-sampler" name="sampler">${studio.samplers.map(s => `<option ${s === studio.defaultSampler ? "selected" : ""}>${esc(s)}</option>`).join("")}</select></div>
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

