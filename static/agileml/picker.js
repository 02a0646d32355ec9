// Pickers of tickets, runs and people that ask the server as you type, so a page never lists
// every ticket of a project. Markup (templates/partials/picker.html):
//   <div data-picker data-picker-url="/api/v1/projects/AUTH/autocomplete/tickets/" data-picker-field="key" [data-picker-free]>
//     <input type="hidden" name="ticket" data-picker-value>
//     <input type="text" role="combobox" aria-controls="LIST" aria-expanded="false" aria-autocomplete="list">
//     <ul role="listbox" id="LIST" hidden>[<li role="option" data-value="none" data-fixed>Not attached</li>]</ul>
//     <span class="visually-hidden" role="status" aria-live="polite"></span>
//   </div>
// The hidden input holds what the form posts (the chosen result's data-picker-field); the server
// still checks it. With data-picker-free, typed text is posted as is (a ticket key typed by hand).
// Keys: Down/Up move, Enter picks, Escape closes (a second Escape clears). Results are text, never HTML.
(() => {
  const DELAY_MS = 150;

  function setup(root) {
    if (root.dataset.pickerReady) return;
    root.dataset.pickerReady = "1";
    const hidden = root.querySelector("[data-picker-value]");
    const input = root.querySelector("[role=combobox]");
    const list = root.querySelector("[role=listbox]");
    const status = root.querySelector("[role=status]");
    const fixed = Array.from(list.querySelectorAll("[data-fixed]"));
    const free = root.hasAttribute("data-picker-free");
    const field = root.dataset.pickerField || "id";
    let active = -1;
    let timer = null;
    let asked = 0;

    const options = () => Array.from(list.querySelectorAll("[role=option]"));

    function open() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    function close() {
      // A question still waiting (typed just before the choice) must not reopen the list.
      clearTimeout(timer);
      asked += 1;
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function highlight(index) {
      const all = options();
      all.forEach((el, i) => {
        el.classList.toggle("active", i === index);
        el.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      active = index;
      if (index >= 0 && all[index]) {
        input.setAttribute("aria-activedescendant", all[index].id);
        all[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }
    let pending = false;
    function setValue(value, { notify = true } = {}) {
      if (hidden.value !== value) pending = true;
      hidden.value = value;
      if (notify && pending) {
        pending = false;
        // Forms that react to changes (the run list's filters) see the chosen value.
        hidden.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }
    function choose(option) {
      input.value = option.dataset.text || option.textContent;
      setValue(option.dataset.value);
      close();
    }
    function render(results, text) {
      const was = active >= 0 && options()[active] ? options()[active].dataset.value : null;
      list.replaceChildren();
      const words = text.toLowerCase();
      fixed
        .filter((el) => !words || el.textContent.toLowerCase().includes(words))
        .forEach((el) => list.appendChild(el));
      results.forEach((row) => {
        const li = document.createElement("li");
        li.setAttribute("role", "option");
        li.className = "dropdown-item text-truncate";
        li.dataset.value = String(row[field]);
        li.textContent = row.label;
        list.appendChild(li);
      });
      options().forEach((el, i) => {
        el.id = `${list.id}-option-${i}`;
        el.setAttribute("aria-selected", "false");
      });
      const count = options().length;
      status.textContent = count ? `${count} result${count === 1 ? "" : "s"}` : "No matches";
      if (!count) {
        const none = document.createElement("li");
        none.className = "dropdown-item-text small text-muted";
        none.textContent = "No matches";
        list.appendChild(none);
      }
      active = -1;
      open();
      // The same answer again (asked twice) keeps the highlighted choice.
      const again = options().findIndex((el) => el.dataset.value === was);
      if (again >= 0) highlight(again);
    }
    async function ask() {
      const text = input.value.trim();
      const mine = ++asked;
      const url = new URL(root.dataset.pickerUrl, window.location.origin);
      url.searchParams.set("q", text);
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!response.ok) throw new Error(String(response.status));
        const body = await response.json();
        if (mine === asked) render(body.results || [], text);
      } catch (_) {
        if (mine === asked) status.textContent = "Could not load suggestions.";
      }
    }
    function askSoon() {
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY_MS);
    }

    input.addEventListener("input", () => {
      setValue(free ? input.value.trim() : "", { notify: false });
      askSoon();
    });
    input.addEventListener("focus", () => {
      if (list.hidden) askSoon();
    });
    // The text box itself posts nothing; only a choice (or, when free, typed text) changes the form.
    input.addEventListener("change", (event) => event.stopPropagation());
    input.addEventListener("keydown", (event) => {
      const all = options();
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden) return ask();
        highlight(all.length ? (active + 1) % all.length : -1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden) return ask();
        highlight(all.length ? (active <= 0 ? all.length - 1 : active - 1) : -1);
      } else if (event.key === "Enter") {
        if (!list.hidden && active >= 0 && all[active]) {
          event.preventDefault();
          choose(all[active]);
        } else if (!free && input.value.trim() && !hidden.value) {
          // Typed but not chosen: show the matches rather than post nothing.
          event.preventDefault();
          if (list.hidden) ask();
        } else {
          close();
          pending = false; // the form submits what was typed
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) {
          event.preventDefault();
          close();
        } else if (input.value) {
          event.preventDefault();
          input.value = "";
          setValue("");
        }
      } else if (event.key === "Tab") {
        close();
      }
    });
    input.addEventListener("blur", () => {
      close();
      setValue(hidden.value); // what was typed counts once the user leaves the box
    });
    // Pick with the mouse without losing focus first.
    list.addEventListener("mousedown", (event) => event.preventDefault());
    list.addEventListener("click", (event) => {
      const option = event.target.closest("[role=option]");
      if (option) choose(option);
    });
    // htmx sets up a swapped-in picker once the swap settles: what was typed before that is asked now.
    if (document.activeElement === input && input.value.trim()) askSoon();
  }

  function setupAll(scope) {
    (scope || document).querySelectorAll("[data-picker]").forEach(setup);
  }
  setupAll(document);
  // Pickers inside fragments htmx swaps in (the ticket's runs panel).
  document.addEventListener("htmx:load", (event) => setupAll(event.target));
})();
