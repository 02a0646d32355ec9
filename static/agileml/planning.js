// Planning pages: drag-and-drop ranking and sprint planning (backlog), status changes (board).
// Every drop is saved through the REST API; when the server refuses, the card goes back
// where it was and the server's message is shown next to the list it was dropped on.
(function () {
  "use strict";

  // Re-rendered forms with validation errors come back as 422 and must be swapped in.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "422", swap: true },
    { code: "[45]..", swap: false, error: true },
  ];

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
    } catch (_) {
      return "";
    }
  }

  async function callApi(method, url, body) {
    const response = await fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const fallback = response.status === 403 ? "Your role does not allow this." : `The server refused (${response.status}).`;
      throw new Error((data && data.message) || fallback);
    }
    return data;
  }

  function showError(near, message) {
    const slot = (near && near.querySelector("[data-error-slot]")) || document.querySelector("[data-error-slot]");
    const box = document.createElement("div");
    box.className = "alert alert-danger alert-dismissible m-2 mb-0 py-2 small";
    box.setAttribute("role", "alert");
    box.setAttribute("data-testid", "drop-error");
    box.textContent = message;
    const close = document.createElement("button");
    close.className = "btn-close";
    close.type = "button";
    close.setAttribute("data-bs-dismiss", "alert");
    close.setAttribute("aria-label", "Close");
    box.appendChild(close);
    if (slot) {
      slot.replaceChildren(box);
    } else {
      document.body.appendChild(box);
    }
  }

  function clearErrors(root) {
    root.querySelectorAll("[data-error-slot]").forEach((slot) => slot.replaceChildren());
  }

  function putBack(evt) {
    const item = evt.item;
    item.remove();
    const from = evt.from;
    from.insertBefore(item, from.children[evt.oldIndex] || null);
  }

  // --- Lists shown a page at a time -------------------------------------------------------
  // Counters show each list's total (rows not loaded yet included), so a move shifts one
  // from a list's counter to another's instead of counting the rows on the page.
  function bump(root, countFor, delta) {
    const badge = root.querySelector(`[data-count-for="${countFor}"]`);
    if (badge) badge.textContent = Math.max(0, (parseInt(badge.textContent, 10) || 0) + delta);
  }

  // "Load more" of a backlog list continues after the last row the list shows now (moves made
  // on the page included), so the next page neither skips nor repeats a row.
  document.addEventListener("htmx:configRequest", (event) => {
    const listId = event.detail.elt.dataset && event.detail.elt.dataset.moreFor;
    if (!listId) return;
    const rows = document.querySelectorAll(`#${listId} > [data-key]`);
    if (rows.length) event.detail.parameters.after = rows[rows.length - 1].dataset.key;
  });

  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (target && target.matches && target.matches("[data-list], .board-cards")) target.dataset.loaded = target.children.length;
  });

  // A ticket dragged into a list may come again in that list's next page: keep the one on the page.
  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (!target || !target.matches || !target.matches("[data-list], .board-cards") || target.dataset.loaded === undefined) return;
    const root = target.closest("#plan, #board") || document;
    Array.from(target.children)
      .slice(Number(target.dataset.loaded))
      .forEach((row) => {
        if (row.dataset.key && root.querySelectorAll(`[data-key="${row.dataset.key}"]`).length > 1) row.remove();
      });
    delete target.dataset.loaded;
  });

  // A refused "load more" (a ticket it continues after was deleted meanwhile, say) says why.
  document.addEventListener("htmx:responseError", (event) => {
    const button = event.detail.elt;
    if (!button.closest || !button.closest(".load-more")) return;
    const text = (event.detail.xhr && event.detail.xhr.responseText) || `The server refused (${event.detail.xhr.status}).`;
    showError(button.closest(".card, .board-column"), `No more rows were loaded: ${text.slice(0, 300)}`);
  });

  // A ticket added on the backlog goes to its bottom: shown only once the list is loaded to its end.
  document.addEventListener("htmx:oobBeforeSwap", (event) => {
    const target = event.detail.target;
    if (!target || target.id !== "backlog-list") return;
    const plan = document.getElementById("plan");
    if (plan) bump(plan, "backlog-list", 1);
    if (document.querySelector('[data-more-for="backlog-list"]')) event.detail.shouldSwap = false;
  });

  // --- Backlog and sprint planning ----------------------------------------------------
  function selectedKeys(plan) {
    return Array.from(plan.querySelectorAll("[data-select]:checked")).map((box) => box.closest(".ticket-row").dataset.key);
  }

  function refreshBulkBar(plan) {
    const bar = document.querySelector("[data-bulk-bar]");
    if (!bar) return;
    const count = selectedKeys(plan).length;
    bar.querySelector("[data-bulk-count]").textContent = count;
    bar.classList.toggle("d-none", count === 0);
    bar.classList.toggle("d-flex", count > 0);
  }

  function reloadPlan() {
    return htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#plan", swap: "outerHTML" });
  }

  function initPlan(plan) {
    if (!plan.hasAttribute("data-can-plan") || plan.dataset.ready) return;
    plan.dataset.ready = "1";
    const moveUrl = plan.dataset.moveUrl;
    plan.querySelectorAll("[data-list]").forEach((list) => {
      Sortable.create(list, {
        group: "plan",
        handle: ".drag-handle",
        // Pointer events rather than native drag-and-drop: the same on mouse, touch and in tests.
        forceFallback: true,
        fallbackOnBody: true,
        emptyInsertThreshold: 24,
        draggable: ".ticket-row",
        animation: 120,
        onEnd: async (evt) => {
          if (evt.from === evt.to && evt.oldIndex === evt.newIndex) return;
          const item = evt.item;
          const destination = evt.to;
          const body = { tickets: [item.dataset.key], sprint: destination.dataset.sprint ? Number(destination.dataset.sprint) : null };
          const previous = item.previousElementSibling;
          const next = item.nextElementSibling;
          if (previous && previous.dataset.key) body.after = previous.dataset.key;
          else if (next && next.dataset.key) body.before = next.dataset.key;
          item.classList.add("is-saving");
          clearErrors(plan);
          try {
            await callApi("POST", moveUrl, body);
            if (evt.from !== destination) {
              bump(plan, evt.from.id, -1);
              bump(plan, destination.id, 1);
            }
          } catch (error) {
            putBack(evt);
            showError(destination.closest(".card"), `${item.dataset.key} was not moved: ${error.message}`);
          } finally {
            item.classList.remove("is-saving");
          }
        },
      });
    });
    plan.addEventListener("change", (event) => {
      if (event.target.matches("[data-select]")) refreshBulkBar(plan);
    });
  }

  document.addEventListener("click", async (event) => {
    const plan = document.getElementById("plan");
    if (!plan) return;
    if (event.target.closest("[data-bulk-clear]")) {
      plan.querySelectorAll("[data-select]:checked").forEach((box) => (box.checked = false));
      refreshBulkBar(plan);
    }
    const button = event.target.closest("[data-bulk-move]");
    if (!button) return;
    const keys = selectedKeys(plan);
    const target = document.querySelector("[data-bulk-target]").value;
    button.disabled = true;
    clearErrors(plan);
    try {
      await callApi("POST", plan.dataset.moveUrl, { tickets: keys, sprint: target ? Number(target) : null });
      await reloadPlan();
    } catch (error) {
      showError(plan, `Nothing was moved: ${error.message}`);
    } finally {
      button.disabled = false;
      refreshBulkBar(document.getElementById("plan"));
    }
  });

  // --- Board ---------------------------------------------------------------------------
  function askSkipReason(key) {
    const modalElement = document.getElementById("skip-modal");
    const modal = bootstrap.Modal.getOrCreateInstance(modalElement);
    const form = modalElement.querySelector("form");
    const reason = form.querySelector("textarea");
    modalElement.querySelector("[data-skip-key]").textContent = key;
    reason.value = "";
    reason.classList.remove("is-invalid");
    return new Promise((resolve) => {
      let answered = false;
      const onSubmit = (event) => {
        event.preventDefault();
        if (!reason.value.trim()) {
          reason.classList.add("is-invalid");
          return;
        }
        answered = true;
        modal.hide();
        resolve(reason.value.trim());
      };
      form.addEventListener("submit", onSubmit);
      modalElement.addEventListener(
        "hidden.bs.modal",
        () => {
          form.removeEventListener("submit", onSubmit);
          if (!answered) resolve(null);
        },
        { once: true },
      );
      modal.show();
      modalElement.addEventListener("shown.bs.modal", () => reason.focus(), { once: true });
    });
  }

  // Columns are the card lists; cards carry data-status too, so select by class, not attribute.
  function boardColumns(board) {
    return board.querySelectorAll(".board-cards[data-status]");
  }

  function initBoard(board) {
    if (!board.hasAttribute("data-can-edit") || board.dataset.ready) return;
    board.dataset.ready = "1";
    boardColumns(board).forEach((column) => {
      Sortable.create(column, {
        group: "board",
        draggable: ".board-card",
        forceFallback: true,
        fallbackOnBody: true,
        emptyInsertThreshold: 24,
        sort: false,
        animation: 120,
        onEnd: async (evt) => {
          if (evt.from === evt.to) return;
          const card = evt.item;
          const status = evt.to.dataset.status;
          const body = { status: status };
          if (status === "skipped") {
            const reason = await askSkipReason(card.dataset.key);
            if (reason === null) {
              putBack(evt);
              return;
            }
            body.skip_reason = reason;
          }
          card.classList.add("is-saving");
          clearErrors(board);
          try {
            const ticket = await callApi("PATCH", card.dataset.url, body);
            card.dataset.status = ticket.status;
            bump(board, evt.from.dataset.status, -1);
            bump(board, status, 1);
          } catch (error) {
            putBack(evt);
            showError(evt.to.closest(".board-column"), `${card.dataset.key} stays ${evt.from.dataset.label}: ${error.message}`);
          } finally {
            card.classList.remove("is-saving");
          }
        },
      });
    });
  }

  htmx.onLoad((element) => {
    const root = element.id === "plan" || element.id === "board" ? element.parentElement || document : element;
    root.querySelectorAll("#plan").forEach(initPlan);
    root.querySelectorAll("#board").forEach(initBoard);
    const plan = document.getElementById("plan");
    if (plan) refreshBulkBar(plan);
  });
})();
