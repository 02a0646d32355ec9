// MLflow prints links such as <tracking uri>/#/experiments/3/runs/<run id>; the part
// after # never reaches the server, so read it here and go to AgileML's page.
(function () {
  const home = document.querySelector("[data-mlflow-home]");
  if (!home) return;
  const base = home.dataset.mlflowHome;
  const hash = window.location.hash || "";
  const run = hash.match(/^#\/experiments\/([^/]+)\/runs\/([0-9a-fA-F]{32})/);
  const experiment = hash.match(/^#\/experiments\/(\d+)/);
  let target = null;
  if (run) target = base + "runs/" + run[2].toLowerCase() + "/";
  else if (experiment) target = base + "experiments/" + experiment[1] + "/";
  if (target) {
    document.getElementById("mlflow-redirecting").classList.remove("d-none");
    window.location.replace(target);
  }
})();
