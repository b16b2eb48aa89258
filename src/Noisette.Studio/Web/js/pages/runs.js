// The Runs page: every run in the workspace with its state, resume and stop.
import { api } from "../api.js";
import { Events } from "../names.js";
import { $, $$, enc, esc, notify, stateBadge, stepText } from "../ui.js";

export default async function RunsPage(main, _, __, { on }) {
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
  const later = () => { if (!timer) timer = setTimeout(() => { timer = null; load(); }, 300); };
  on(Events.Runs, later);
  on(Events.Queue, later);
  return { dispose: () => clearTimeout(timer) };
}
