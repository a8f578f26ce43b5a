// 六清工作台: what only a browser can do. Every page works without this script.
// Loaded as a file (the Content-Security-Policy allows no inline script).
"use strict";

(function () {
  // Photo: rotate and zoom by changing the figure's data attributes (the stylesheet does the rest).
  function photoAction(action) {
    var fig = document.querySelector("figure.photo");
    if (!fig) return;
    var rotate = parseInt(fig.getAttribute("data-rotate") || "0", 10);
    if (action === "rotate-left") fig.setAttribute("data-rotate", String((rotate + 270) % 360));
    if (action === "rotate-right") fig.setAttribute("data-rotate", String((rotate + 90) % 360));
    if (action === "zoom") fig.setAttribute("data-zoom", fig.getAttribute("data-zoom") === "2" ? "fit" : "2");
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
      case "+": case "=": photoAction("zoom"); break;
    }
  });
})();
