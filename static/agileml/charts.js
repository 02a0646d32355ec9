// Draws the plotly figures that Python built: every element with data-figure="<id of a json_script>".
// Drawn when the page loads and again after htmx swaps (each once). A point whose customdata[3]
// is a URL opens it when clicked (the forest plot's evaluations). data-figure-toolbar="off" hides
// plotly's toolbar (dashboards and demo pages). Charts follow the paper's width when printed.
(function () {
  const drawn = [];

  function openPoint(event) {
    const point = event.points && event.points[0];
    const url = point && point.customdata && point.customdata[3];
    if (url) window.location.href = url;
  }

  function draw(root) {
    if (typeof Plotly === "undefined") return;
    root.querySelectorAll("[data-figure]").forEach((el) => {
      if (el.dataset.drawn) return;
      const source = document.getElementById(el.dataset.figure);
      if (!source) return;
      const figure = JSON.parse(source.textContent);
      const config = { displaylogo: false, responsive: true };
      if (el.dataset.figureToolbar === "off") config.displayModeBar = false;
      el.dataset.drawn = "1";
      el.style.minHeight = "";
      Plotly.newPlot(el, figure.data, figure.layout, config).then(() => {
        el.dataset.ready = "1";
      });
      el.on("plotly_click", openPoint);
      drawn.push(el);
    });
  }

  function resizeAll() {
    drawn.forEach((el) => Plotly.Plots.resize(el));
  }

  document.addEventListener("DOMContentLoaded", () => draw(document));
  document.addEventListener("htmx:afterSettle", () => draw(document));
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
})();
