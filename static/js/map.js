/* Zoom and pan for the maps of directory/maps.py (the viewBox changes, markers keep their
   size): buttons, + and − keys (Ctrl + stays the browser's), dragging; the view follows focus. */
(() => {
  "use strict";
  document.querySelectorAll("[data-map]").forEach((map) => {
    const svg = map.querySelector("svg");
    const [x0, y0, w0, h0] = svg.getAttribute("viewBox").split(" ").map(Number);
    const pins = [...svg.querySelectorAll(".map__pin")].map((p) => [p.parentNode, p.parentNode.getAttribute("transform")]);
    const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
    let zoom = 1;
    let cx = x0 + w0 / 2;
    let cy = y0 + h0 / 2;
    let drag = null;
    let dragged = false;

    const show = (z, x = cx, y = cy) => {
      zoom = clamp(z, 1, 32);
      const w = w0 / zoom;
      const h = h0 / zoom;
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

    map.addEventListener("keydown", (event) => {
      if (event.altKey || event.ctrlKey || event.metaKey || !"+=-".includes(event.key)) return;
      show(zoom * (event.key === "-" ? 0.5 : 2));
      event.preventDefault();
    });

    svg.addEventListener("focusin", (event) => {
      const at = /\(([-\d.]+) ([-\d.]+)/.exec(event.target.querySelector("g")?.getAttribute("transform"));
      if (at && zoom > 1) show(zoom, +at[1], +at[2]);
    });

    svg.addEventListener("pointerdown", (event) => {
      drag = zoom > 1 && !event.button && [event.clientX, event.clientY, cx, cy];
      dragged = false;
    });
    svg.addEventListener("pointermove", (event) => {
      const dx = drag && event.clientX - drag[0];
      const dy = drag && event.clientY - drag[1];
      if (!drag || (!dragged && Math.hypot(dx, dy) < 5)) return;
      if (!dragged) svg.setPointerCapture(event.pointerId);
      dragged = true;
      const k = w0 / zoom / svg.getBoundingClientRect().width;
      show(zoom, drag[2] - dx * k, drag[3] - dy * k);
    });
    ["pointerup", "pointercancel"].forEach((name) => svg.addEventListener(name, () => (drag = null)));
    // A drag ending on a marker does not follow it.
    svg.addEventListener("click", (event) => dragged && event.preventDefault(), true);
  });
})();
