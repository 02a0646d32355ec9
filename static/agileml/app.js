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
