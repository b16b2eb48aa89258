// Shared DOM helpers of the studio's pages: selectors, escaping, the notice line, form errors and number formats.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
export const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
export const enc = encodeURIComponent;

export function notify(message, kind = "info") {
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
export function onSubmit(form, handler) {
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

export const fmtTime = s => {
  if (s == null || !isFinite(s)) return "—";
  s = Math.round(s);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor(s % 3600 / 60)} min`;
};
export const fmtNum = (x, d = 4) => x == null ? "—" : Number(x).toPrecision(d);
export const stepText = (step, total, until) => until ? `${step} (until you stop)` : `${step} / ${total ?? "?"}`;
export const stateBadge = r => `<span class="badge state-${esc(r.state)}" data-state="${esc(r.state)}">${esc(r.state.replace("-", " "))}</span>`;
/** A message from the API ("made 4 pictures") as a sentence ("Made 4 pictures."). */
export const sentence = m => m.charAt(0).toUpperCase() + m.slice(1) + ".";
