// The Datasets page: the workspace's datasets, adding a folder, uploading pictures, drawing glyphs from fonts, and
// the health report of one dataset with its tidy-copy form.
import { api } from "../api.js";
import { Events } from "../names.js";
import { $, $$, enc, esc, notify, onSubmit, sentence } from "../ui.js";

export default async function DatasetsPage(main, [selected], _, { on }) {
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
    notify(sentence(r.message), r.failed.length ? "error" : "ok");
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
  on(Events.Datasets, () => list());
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
    notify(sentence(p.message), "ok");
    location.hash = `#/datasets/${enc(p.name)}`;
  });
}
