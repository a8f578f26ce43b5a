// 六清工作台: what only a browser can do. Every page works without this script.
// Loaded as a file (the Content-Security-Policy allows no inline script).
"use strict";

(function () {
  // Photo: rotate and zoom by changing the figure's data attributes (the stylesheet does the rest).
  // Zoom steps through the levels the stylesheet knows, from fitting the frame to 4x.
  var ZOOMS = ["fit", "1.5", "2", "3", "4"];
  function photoAction(action) {
    var fig = document.querySelector("figure.photo");
    if (!fig) return;
    var rotate = parseInt(fig.getAttribute("data-rotate") || "0", 10);
    if (action === "rotate-left") fig.setAttribute("data-rotate", String((rotate + 270) % 360));
    if (action === "rotate-right") fig.setAttribute("data-rotate", String((rotate + 90) % 360));
    var at = ZOOMS.indexOf(fig.getAttribute("data-zoom") || "fit");
    if (at < 0) at = 0;
    if (action === "zoom-in") at = Math.min(at + 1, ZOOMS.length - 1);
    if (action === "zoom-out") at = Math.max(at - 1, 0);
    if (action === "fit") at = 0;
    fig.setAttribute("data-zoom", ZOOMS[at]);
    var shown = document.getElementById("zoom");
    if (shown) shown.textContent = at === 0 ? "适应" : ZOOMS[at] + " 倍";
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("[data-photo]") : null;
    if (button) photoAction(button.getAttribute("data-photo"));
    if (e.target.closest && e.target.closest("[data-print]")) window.print();
  });

  // Review shortcuts, only while no field has the keyboard.
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    var el;
    switch (e.key) {
      case "a": case "A":
        el = document.getElementById("approve");
        if (el) { e.preventDefault(); el.click(); }
        break;
      case "r": case "R":
        el = document.getElementById("reason");
        if (el) { e.preventDefault(); el.focus(); }
        break;
      case "n": case "N":
        el = document.getElementById("next");
        if (el) { e.preventDefault(); el.click(); }
        break;
      case "[": photoAction("rotate-left"); break;
      case "]": photoAction("rotate-right"); break;
      case "+": case "=": photoAction("zoom-in"); break;
      case "-": case "_": photoAction("zoom-out"); break;
      case "0": photoAction("fit"); break;
    }
  });
})();
