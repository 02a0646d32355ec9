// Shared page behaviour. Pages add their own scripts in {% block scripts %}.
document.addEventListener("htmx:responseError", (event) => {
  // Show the server's message instead of failing silently.
  const xhr = event.detail.xhr;
  let message = `Request failed (${xhr.status}).`;
  try {
    const body = JSON.parse(xhr.responseText);
    if (body.message) message = body.message;
  } catch (_) {
    if (xhr.status === 403) message = "Your role does not allow this.";
  }
  const box = document.createElement("div");
  box.className = "alert alert-danger alert-dismissible fade show position-fixed bottom-0 end-0 m-3 shadow";
  box.setAttribute("role", "alert");
  box.style.zIndex = 2000;
  box.textContent = message;
  const close = document.createElement("button");
  close.className = "btn-close";
  close.setAttribute("data-bs-dismiss", "alert");
  box.appendChild(close);
  document.body.appendChild(box);
});

// Confirmation and auto-submit without inline handlers (the Content-Security-Policy forbids them):
// <form data-confirm="Delete …?"> or <button data-confirm="…"> asks first; the message is text, never code.
document.addEventListener(
  "submit",
  (event) => {
    const form = event.target;
    const submitter = event.submitter;
    const message = (submitter && submitter.dataset.confirm) || form.dataset.confirm;
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  },
  true,
);
// <select data-autosubmit> submits its form when changed.
document.addEventListener("change", (event) => {
  const field = event.target.closest("[data-autosubmit]");
  if (field && field.form) field.form.requestSubmit();
});

// Show only the parts of a form that apply to the chosen option:
// <input type="radio" data-show-scope="#form" …> toggles elements under that scope whose
// data-show-for lists the chosen value (space-separated); elements holding an error stay visible.
function syncShowFor(scope) {
  const checked = scope.querySelector("input[type=radio][data-show-choice]:checked");
  const value = checked ? checked.value : scope.dataset.showDefault || "";
  scope.querySelectorAll("[data-show-for]").forEach((el) => {
    const keep = el.dataset.showFor.split(" ").includes(value) || el.querySelector(".is-invalid");
    el.classList.toggle("d-none", !keep);
  });
}
document.querySelectorAll("[data-show-scope]").forEach((scope) => {
  scope.addEventListener("change", (event) => {
    if (event.target.matches("[data-show-choice]")) syncShowFor(scope);
  });
  syncShowFor(scope);
});
