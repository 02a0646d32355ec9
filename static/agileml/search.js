// "/" focuses the top bar's search box (id="search"), unless the user is typing somewhere.
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.closest && target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']")) return;
  const box = document.getElementById("search");
  if (!box) return;
  event.preventDefault();
  box.focus();
  box.select();
});
