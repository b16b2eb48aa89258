// A run's favourites and generated batches, shared by the Generate and Edit pages: star, un-star, make again,
// variations and downloads.
import { api } from "./api.js";
import { $$, enc, esc, notify, sentence } from "./ui.js";

/** The favourites and the generated batches of a run, with star, un-star, make again, variations and downloads. */
export async function showGallery(name, favs, galleryBox, status, filter = () => true) {
  const describe = img => {
    const what = img.kind === "edit" ? `edit, strength ${img.strength ?? "?"}` : img.kind === "inpaint" ? "inpainting" : null;
    return `${what ? esc(what) + " · " : ""}${img.class != null ? `class ${esc(img.class)} · ` : ""}seed ${img.seed ?? "?"} · step ${img.step ?? "?"}`;
  };
  const card = (img, fav) => `<figure data-path="${esc(img.path)}" data-kind="${esc(img.kind)}"><a href="${esc(img.url)}" target="_blank" rel="noopener"><img src="${esc(img.url)}" alt="${img.kind === "sample" ? "Picture" : img.kind === "edit" ? "Edited picture" : "Inpainted picture"}, seed ${img.seed ?? "?"}, checkpoint step ${img.step ?? "?"}" loading="lazy"></a>
    <figcaption>${describe(img)}
      ${fav ? `<button type="button" data-regen="${esc(img.path.replace(/^favourites\//, ""))}">Make again</button>
               ${img.kind === "sample" ? `<button type="button" class="secondary" data-vary="${esc(img.path.replace(/^favourites\//, ""))}">Variations</button>` : ""}
               <button type="button" class="star" aria-pressed="true" data-unstar="${esc(img.path.replace(/^favourites\//, ""))}" aria-label="Remove the star: seed ${img.seed ?? "?"}">★</button>`
            : `<button type="button" class="star" data-star="${esc(img.path)}" aria-pressed="${img.favourite}" aria-label="${img.favourite ? "A favourite" : "Star"}: seed ${img.seed ?? "?"}">${img.favourite ? "★" : "☆"}</button>`}
      <a href="${esc(img.url)}?download=true" download>PNG</a></figcaption></figure>`;
  const g = await api(`/api/runs/${enc(name)}/gallery`);
  const batches = g.batches.filter(filter);
  favs.innerHTML = g.favourites.images.length ? g.favourites.images.map(i => card(i, true)).join("")
    + `<p><a class="button secondary" href="/api/runs/${enc(name)}/zip?folder=favourites" download>Download favourites (zip)</a></p>` : `<p class="muted">No favourite yet.</p>`;
  galleryBox.innerHTML = batches.length ? batches.map(b => `<h3>${esc(b.title)}</h3><div class="gallery">${b.images.map(i => card(i, false)).join("")}</div>
    <p><a class="button secondary" href="/api/runs/${enc(name)}/zip?folder=${enc(b.folder)}" download>Download these (zip)</a></p>`).join("") : `<p class="muted">Nothing made yet.</p>`;
  const again = () => showGallery(name, favs, galleryBox, status, filter);
  $$("[data-star]", galleryBox).forEach(b => b.addEventListener("click", async () => {
    try { await api(`/api/runs/${enc(name)}/star`, { form: { path: b.dataset.star } }); notify("Starred: copied to favourites with its settings.", "ok"); await again(); }
    catch (e) { notify(e.message, "error"); }
  }));
  $$("[data-unstar]", favs).forEach(b => b.addEventListener("click", async () => {
    try { const r = await api(`/api/runs/${enc(name)}/unstar`, { form: { favourite: b.dataset.unstar } }); notify(sentence(r.message), "ok"); await again(); }
    catch (e) { notify(e.message, "error"); }
  }));
  $$("[data-vary]", favs).forEach(b => b.addEventListener("click", async () => {
    b.disabled = true; status.textContent = "Making variations…";
    try { const r = await api(`/api/runs/${enc(name)}/variations`, { form: { favourite: b.dataset.vary } }); status.textContent = `Made ${r.images.length} variation(s) from the seeds around it.`; await again(); }
    catch (e) { status.textContent = e.message; }
    finally { b.disabled = false; }
  }));
  $$("[data-regen]", favs).forEach(b => b.addEventListener("click", async () => {
    b.disabled = true; status.textContent = "Making it again…";
    try {
      const r = await api(`/api/runs/${enc(name)}/regenerate`, { form: { favourite: b.dataset.regen } });
      status.innerHTML = `<span id="regen-verdict" data-same="${r.sameBytes}">${r.sameBytes ? "✓ " : "✗ "}${esc(r.message)}</span> <img src="${esc(r.image.url)}" alt="The favourite made again" width="64" style="image-rendering:pixelated;vertical-align:middle">`;
      await again();
    } catch (e) { status.textContent = e.message; }
    finally { b.disabled = false; }
  }));
  return g;
}
