// Zoom and pan of the floor plan (mouse wheel, drag, pinch on a tablet, +/- buttons).
// A short tap or click still follows the booth's link; only a real drag pans.
(function () {
  "use strict";
  document.querySelectorAll("svg.floorplan").forEach(function (svg) {
    var vb = svg.viewBox.baseVal, full = {x: vb.x, y: vb.y, w: vb.width, h: vb.height};
    var pointers = {}, start = null, moved = false, pinch = null;
    function zoom(f, cx, cy) {
      var w = Math.min(full.w, Math.max(full.w / 20, vb.width * f)), h = w * full.h / full.w;
      cx = cx === undefined ? vb.x + vb.width / 2 : cx; cy = cy === undefined ? vb.y + vb.height / 2 : cy;
      vb.x = cx - (cx - vb.x) * w / vb.width; vb.y = cy - (cy - vb.y) * h / vb.height;
      vb.width = w; vb.height = h;
    }
    function toPlan(e) {
      var r = svg.getBoundingClientRect();
      return {x: vb.x + (e.clientX - r.left) * vb.width / r.width, y: vb.y + (e.clientY - r.top) * vb.height / r.height};
    }
    svg.addEventListener("wheel", function (e) {
      e.preventDefault(); var p = toPlan(e); zoom(e.deltaY < 0 ? 0.8 : 1.25, p.x, p.y);
    }, {passive: false});
    svg.addEventListener("pointerdown", function (e) {
      pointers[e.pointerId] = {x: e.clientX, y: e.clientY};
      var ids = Object.keys(pointers);
      if (ids.length === 1) { start = {x: e.clientX, y: e.clientY, vx: vb.x, vy: vb.y}; moved = false; }
      if (ids.length === 2) {
        var a = pointers[ids[0]], b = pointers[ids[1]];
        pinch = Math.hypot(a.x - b.x, a.y - b.y);
      }
    });
    svg.addEventListener("pointermove", function (e) {
      if (!(e.pointerId in pointers)) return;
      pointers[e.pointerId] = {x: e.clientX, y: e.clientY};
      var ids = Object.keys(pointers), r = svg.getBoundingClientRect();
      if (ids.length === 2 && pinch) {
        var a = pointers[ids[0]], b = pointers[ids[1]], d = Math.hypot(a.x - b.x, a.y - b.y);
        zoom(pinch / d); pinch = d; moved = true; return;
      }
      if (!start) return;
      var dx = e.clientX - start.x, dy = e.clientY - start.y;
      if (Math.abs(dx) + Math.abs(dy) > 6) moved = true;
      if (moved) { vb.x = start.vx - dx * vb.width / r.width; vb.y = start.vy - dy * vb.height / r.height; }
    });
    function end(e) { delete pointers[e.pointerId]; if (!Object.keys(pointers).length) { start = null; pinch = null; } }
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointercancel", end);
    svg.addEventListener("click", function (e) { if (moved) { e.preventDefault(); moved = false; } }, true);
    document.querySelectorAll("[data-zoom]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var z = btn.getAttribute("data-zoom");
        if (z === "reset") { vb.x = full.x; vb.y = full.y; vb.width = full.w; vb.height = full.h; }
        else zoom(z === "in" ? 0.7 : 1.4);
      });
    });
  });
})();
