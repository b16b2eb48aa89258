// The studio's JSON API: fetch with the launch token on every state-changing request, and its errors as exceptions
// that carry the field at fault.

const token = document.querySelector('meta[name="noisette-token"]').content;

/** Calls the API; a form (FormData or a plain object) makes it a POST. Throws an Error with .field and .status. */
export async function api(path, opts = {}) {
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
