// Dashboards and demo pages: draw the plotly figures Python built; copy and print buttons.
(function () {
  const plots = [];

  function drawCharts(root) {
    root.querySelectorAll("[data-figure]").forEach((el) => {
      if (el.dataset.drawn) return;
      const source = document.getElementById(el.dataset.figure);
      if (!source || typeof Plotly === "undefined") return;
      const figure = JSON.parse(source.textContent);
      el.dataset.drawn = "1";
      el.style.minHeight = "";
      Plotly.newPlot(el, figure.data, figure.layout, { displaylogo: false, responsive: true, displayModeBar: false });
      plots.push(el);
    });
  }

  function resizeAll() {
    plots.forEach((el) => Plotly.Plots.resize(el));
  }

  document.addEventListener("DOMContentLoaded", () => {
    drawCharts(document);
    document.querySelectorAll("[data-print]").forEach((button) => {
      button.addEventListener("click", () => window.print());
    });
    document.querySelectorAll("[data-copy]").forEach((button) => {
      button.addEventListener("click", () => {
        const field = document.getElementById(button.dataset.copy);
        if (!field) return;
        field.select();
        const done = () => {
          button.innerHTML = '<i class="bi bi-check2"></i> Copied';
        };
        if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, () => {});
      });
    });
    document.querySelectorAll("[data-kind-switch]").forEach((select) => {
      const sync = () => {
        document.querySelectorAll("[data-kind-only]").forEach((block) => {
          block.hidden = block.dataset.kindOnly !== select.value;
        });
      };
      select.addEventListener("change", sync);
      sync();
    });
  });
  // Charts follow the paper's width when printed, and the window's again afterwards.
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
})();
