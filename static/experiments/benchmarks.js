// Benchmark and evaluation pages: draw the plotly figures that Python built (again after htmx swaps),
// and open an evaluation when its point on the forest plot is clicked.
(function () {
  function draw(root) {
    root.querySelectorAll("[data-figure]").forEach((el) => {
      if (el.dataset.drawn || typeof Plotly === "undefined") return;
      const source = document.getElementById(el.dataset.figure);
      if (!source) return;
      const figure = JSON.parse(source.textContent);
      el.dataset.drawn = "1";
      Plotly.newPlot(el, figure.data, figure.layout, { displaylogo: false, responsive: true }).then(() => {
        el.dataset.ready = "1";
      });
      el.on("plotly_click", (event) => {
        const point = event.points && event.points[0];
        const url = point && point.customdata && point.customdata[3];
        if (url) window.location.href = url;
      });
    });
  }
  document.addEventListener("DOMContentLoaded", () => draw(document));
  document.addEventListener("htmx:afterSettle", () => draw(document));
})();
