/* Zoom and pan for the maps of directory/maps.py by their viewBox: buttons, + and − keys (Ctrl +
   stays the browser's zoom), dragging; the view follows keyboard focus; markers keep their size. */
(() => {
  "use strict";
  document.querySelectorAll("[data-map]").forEach((map) => {
    const svg = map.querySelector("svg");
    const [x0, y0, w0, h0] = svg.getAttribute("viewBox").split(" ").map(Number);
    const pins = [...svg.querySelectorAll("g[transform]")].map((g) => [g, g.getAttribute("transform")]);
    const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
    let [zoom, cx, cy, drag, dragged] = [1, x0 + w0 / 2, y0 + h0 / 2];

    const show = (z, x = cx, y = cy) => {
      zoom = clamp(z, 1, 8);
      const [w, h] = [w0 / zoom, h0 / zoom];
      cx = clamp(x, x0 + w / 2, x0 + w0 - w / 2);
      cy = clamp(y, y0 + h / 2, y0 + h0 - h / 2);
      svg.setAttribute("viewBox", [cx - w / 2, cy - h / 2, w, h].map((n) => n.toFixed(1)).join(" "));
      pins.forEach(([g, t]) => g.setAttribute("transform", `${t} scale(${1 / zoom})`));
      map.classList.toggle("map--zoomed", zoom > 1);
    };

    const bar = document.createElement("div");
    bar.className = "map__controls";
    [["+", map.dataset.zoomIn, 2], ["−", map.dataset.zoomOut, 0.5], [map.dataset.reset, "", 0]].forEach(([text, label, factor]) => {
      const b = Object.assign(document.createElement("button"), { type: "button", className: "map__button", textContent: text });
      if (label) b.setAttribute("aria-label", label);
      b.addEventListener("click", () => show(zoom * factor));
      bar.append(b);
    });
    map.prepend(bar);

    // [x, y] of a marker, or [] (show() keeps the centre).
    const spot = (el) => (/\(([-\d.]+) ([-\d.]+)/.exec(el.querySelector("g")?.getAttribute("transform")) || [0]).slice(1).map(Number);
    map.addEventListener("keydown", (e) => {
      if (e.altKey || e.ctrlKey || e.metaKey || !"+=-".includes(e.key)) return;
      show(zoom * (e.key === "-" ? 0.5 : 2), ...spot(e.target));
      e.preventDefault();
    });
    svg.addEventListener("focusin", (e) => zoom > 1 && e.target.matches(":focus-visible") && show(zoom, ...spot(e.target)));

    svg.addEventListener("pointerdown", (e) => {
      drag = zoom > 1 && !e.button && [e.clientX, e.clientY, cx, cy];
      dragged = false;
    });
    svg.addEventListener("pointermove", (e) => {
      const [dx, dy] = drag ? [e.clientX - drag[0], e.clientY - drag[1]] : [0, 0];
      if (!drag || (!dragged && Math.hypot(dx, dy) < 5)) return;
      if (!dragged) svg.setPointerCapture(e.pointerId);
      dragged = true;
      const k = w0 / zoom / svg.getBoundingClientRect().width;
      show(zoom, drag[2] - dx * k, drag[3] - dy * k);
    });
    ["pointerup", "pointercancel"].forEach((name) => svg.addEventListener(name, () => (drag = null)));
    // A drag ending on a marker does not follow it.
    svg.addEventListener("click", (e) => dragged && e.preventDefault(), true);
  });
})();
