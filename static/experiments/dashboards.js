// Dashboards and demo pages: copy and print buttons, the material form's kind switch (charts: agileml/charts.js).
(function () {
  document.addEventListener("DOMContentLoaded", () => {
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
})();
