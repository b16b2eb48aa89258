// The page of one run, live: progress, loss chart, newest sample grid, settings and log, with stop, resume and remove.
import { api } from "../api.js";
import { Events, Phases } from "../names.js";
import { $, enc, esc, fmtNum, fmtTime, notify, onSubmit, stateBadge, stepText } from "../ui.js";

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

export default async function RunPage(main, [name], _, { on }) {
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
  on(Events.Progress, d => {
    if (d.run !== name) return;
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
  });
  on(Events.Log, d => {
    if (d.run !== name) return;
    const log = $("#r-log"); log.textContent += `\n${d.level}: ${d.message}`; log.scrollTop = log.scrollHeight;
  });
  on(Events.Runs, d => { if (d.run === name) reload(); });
  // The queue is every run's: reload only when this run's phase changed.
  on(Events.Queue, q => {
    const now = q.current?.run === name ? q.current.phase : (q.waiting?.some(w => w.run === name) ? Phases.Queued : null);
    if (detail?.job?.phase !== now) reload();
  });
  on(Events.Failed, d => { if (d.run === name) { notify(`Training failed: ${d.message}`, "error"); reload(); } });
  return { dispose: () => clearTimeout(timer) };
}
