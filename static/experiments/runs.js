// Run pages: draw plotly figures that Python built, and keep the compare button in step.
(function () {
  function drawCharts(root) {
    root.querySelectorAll("[data-figure]").forEach((el) => {
      if (el.dataset.drawn) return;
      const source = document.getElementById(el.dataset.figure);
      if (!source || typeof Plotly === "undefined") return;
      const figure = JSON.parse(source.textContent);
      el.dataset.drawn = "1";
      Plotly.newPlot(el, figure.data, figure.layout, { displaylogo: false, responsive: true });
    });
  }

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

  document.addEventListener("DOMContentLoaded", () => {
    drawCharts(document);
    syncCompare(document);
  });
  document.addEventListener("htmx:afterSettle", (event) => {
    drawCharts(event.target);
    syncCompare(document);
  });
})();
