// Run pages: keep the compare button in step with the ticked runs (charts: agileml/charts.js).
(function () {
  function syncCompare(root) {
    const form = root.querySelector("#compare-form");
    if (!form) return;
    const update = () => {
      const count = form.querySelectorAll("input[name=runs]:checked").length;
      const button = form.querySelector("[data-compare-button]");
      form.querySelector("[data-compare-count]").textContent = count;
      button.disabled = count < 2 || count > 10;
      const hint = form.querySelector("[data-compare-hint]");
      if (hint) hint.textContent = count > 10 ? "Compare at most 10 runs." : "Tick 2–10 runs to compare them.";
    };
    form.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", () => syncCompare(document));
  document.addEventListener("htmx:afterSettle", () => syncCompare(document));
})();
