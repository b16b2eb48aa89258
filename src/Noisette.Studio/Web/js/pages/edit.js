// The Edit and inpaint page: redraw a picture at a strength, or fill in an area painted on it with the brush.
import { api } from "../api.js";
import { showGallery } from "../gallery.js";
import { $, $$, enc, esc, notify, onSubmit } from "../ui.js";

export default async function EditPage(main, [name], params, { studio }) {
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
