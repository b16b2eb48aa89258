// Noisette Studio: the page's entry module. Hash routes to one module per page (js/pages/), the machine line in the
// header, and the live updates from the server's event stream (js/events.js), whose names the server defines.
import { api } from "./js/api.js";
import { connect, on, scope } from "./js/events.js";
import { Events, Phases } from "./js/names.js";
import { $, $$, enc, esc, notify, stepText } from "./js/ui.js";
import DatasetsPage from "./js/pages/datasets.js";
import TrainPage from "./js/pages/train.js";
import RunsPage from "./js/pages/runs.js";
import RunPage from "./js/pages/run.js";
import TimelinePage from "./js/pages/timeline.js";
import GeneratePage from "./js/pages/generate.js";
import EditPage from "./js/pages/edit.js";

let studio = null;   // /api/state
let page = null;     // the current page: { dispose() } and the scope of its event handlers

// ------------------------------------------------------------------ the machine (header)

let machine = null;
function renderMachine(q) {
  const m = $("#machine");
  if (!q) return;
  machine = q;
  const waiting = q.waiting.length ? ` · ${q.waiting.length} waiting: ${q.waiting.map(w => esc(w.run)).join(", ")}` : "";
  if (q.current) {
    const c = q.current;
    m.innerHTML = `Training <a href="#/run/${enc(c.run)}">${esc(c.run)}</a>: ${c.phase === Phases.Training ? "step " + stepText(c.step, c.total, c.untilStopped) : esc(c.phase)}${waiting}`;
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
  if (page) { page.events.close(); page.dispose?.(); }
  const events = scope();
  page = { events };
  $$("nav a").forEach(a => a.toggleAttribute("aria-current", a.dataset.nav === (name === "run" || name === "timeline" ? "runs" : name)));
  $$("nav a").forEach(a => { if (a.hasAttribute("aria-current")) a.setAttribute("aria-current", "page"); });
  const main = $("#main");
  main.innerHTML = "";
  notify("");
  // Busy while the page fetches what it shows: screen readers wait for it, and so does `bench studio`.
  main.setAttribute("aria-busy", "true");
  try {
    if (!studio) studio = await api("/api/state");
    const shown = await routes[name](main, parts.slice(1), new URLSearchParams(query || ""), { studio, on: events.on });
    if (page?.events === events) page.dispose = shown?.dispose;
    else { events.close(); shown?.dispose?.(); }   // another route began meanwhile
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

// ------------------------------------------------------------------ start

on(Events.Queue, renderMachine);
on(Events.Progress, data => {
  if (machine && machine.current && machine.current.run === data.run) {
    Object.assign(machine.current, { step: data.step, total: data.total, phase: Phases.Training });
    renderMachine(machine);
  }
});
on(Events.Failed, data => notify(`Training of ${data.run} failed: ${data.message}`, "error"));
connect();
window.addEventListener("hashchange", () => route(true).catch(e => notify(e.message, "error")));
route().then(() => renderMachine(studio.queue)).catch(e => notify(e.message, "error"));
