// The Checkpoint timeline page: the sample grid of every checkpoint of a run, side by side; one leads to Generate.
import { api } from "../api.js";
import { Events } from "../names.js";
import { enc, esc, fmtNum } from "../ui.js";

export default async function TimelinePage(main, [name], _, { on }) {
  if (!name) { location.hash = "#/runs"; return; }
  const render = async () => {
    const d = await api(`/api/runs/${enc(name)}`);
    main.innerHTML = `
  <h1>Checkpoint timeline: ${esc(name)}</h1>
  <p class="hint">The sample grid of every checkpoint, side by side, all from the same seed: watch the pictures form. Choose one to generate from it.
    ${d.bestStep != null ? `The best, by ${esc(d.bestBy)}, is marked.` : `Neither the sample distance nor the validation loss is measured for this run, so no checkpoint is marked best.`}</p>
  <section><ol class="timeline" id="timeline">${d.grids.length ? d.grids.map(g => {
    const caption = `<span>step ${g.step}</span><span class="hint">loss ${fmtNum(g.loss)}${g.validationLoss != null ? ` · validation ${fmtNum(g.validationLoss)}` : ""}${g.sampleDistance != null ? ` · distance ${fmtNum(g.sampleDistance)}` : ""}</span>${d.bestStep === g.step ? `<span class="best">best</span>` : ""}`;
    return `<li>${g.hasCheckpoint
      ? `<a href="#/generate/${enc(name)}?step=${g.step}" aria-label="Generate from the checkpoint of step ${g.step}"><img src="${esc(g.url)}" alt="Sample grid at step ${g.step}">${caption}</a>`
      : `<div class="gone"><img src="${esc(g.url)}" alt="Sample grid at step ${g.step}">${caption}<span class="hint">checkpoint removed; grid only</span></div>`}</li>`;
  }).join("") : `<li class="muted">No sample grid yet: the first appears at the first checkpoint.</li>`}</ol></section>
  <p><a href="#/run/${enc(name)}">Back to the run</a></p>`;
  };
  await render();
  // A new checkpoint's grid joins the row.
  on(Events.Progress, e => { if (e.run === name && e.grid) render(); });
}
