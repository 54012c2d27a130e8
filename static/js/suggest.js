/* Suggestions as you type for inputs with data-suggest-url: the WAI-ARIA APG editable combobox,
   list autocomplete, no automatic selection. Without this script the forms work as they are. */
(() => {
  "use strict";
  const plural = new Intl.PluralRules(document.documentElement.lang || "en");
  const make = (tag, className, textContent) =>
    Object.assign(document.createElement(tag), { className, textContent });
  const set = (element, name, value) => element.setAttribute(name, value);

  document.querySelectorAll("input[data-suggest-url]").forEach((input) => {
    const data = input.dataset;
    const box = make("div", "suggest");
    const list = make("ul", "suggest__list");
    const status = make("div", "visually-hidden");
    const label = input.labels[0];
    const focused = document.activeElement === input;
    let items = [];
    let answered = ""; // the query the items answer
    let active = -1;
    let timer = 0;
    let controller = null;
    let sequence = 0; // moves on with every request and close: a late answer is dropped

    const activate = (index) => {
      const option = list.children[index];
      if (active >= 0) set(list.children[active], "aria-selected", false);
      active = option ? index : -1;
      if (!option) return input.removeAttribute("aria-activedescendant");
      set(option, "aria-selected", true);
      set(input, "aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    };

    const open = (yes) => {
      if (!yes) activate(-1);
      list.hidden = !yes;
      set(input, "aria-expanded", yes);
    };

    const cancel = () => {
      clearTimeout(timer);
      if (controller) controller.abort();
      sequence++;
    };

    const close = () => {
      cancel();
      open(false);
    };

    const go = (item) => {
      const url = new URL(item.url, location.href);
      close();
      if (url.origin === location.origin) location.assign(url);
    };

    const show = (query, suggestions) => {
      activate(-1);
      items = suggestions.filter((item) => item && item.label && item.url).slice(0, 8);
      answered = query;
      list.replaceChildren(
        ...items.map((item, index) => {
          const option = make("li", "suggest__option");
          option.id = list.id + "-" + index;
          set(option, "role", "option");
          set(option, "aria-selected", false);
          // Two flex items: the accessible name is "Cardiology Medical field".
          option.append(make("span", "", item.label), make("span", "suggest__kind", item.kind_label));
          return option;
        }),
      );
      open(items.length > 0);
      const n = items.length;
      const key = n ? (plural.select(n) === "one" ? "msgCountOne" : "msgCountOther") : "msgNone";
      status.textContent = (data[key] || "").replace("{count}", n);
    };

    const request = () => {
      // The list on show stays until the answer for the new text replaces it.
      const query = input.value.trim();
      cancel();
      activate(-1);
      const mine = sequence;
      if (query.length < 2) {
        open(false);
        status.textContent = "";
        return;
      }
      timer = setTimeout(() => {
        const url = new URL(data.suggestUrl, location.href);
        url.searchParams.set("q", query);
        controller = new AbortController();
        fetch(url, { signal: controller.signal, headers: { Accept: "application/json" } })
          .then((response) => (response.ok ? response.json() : Promise.reject()))
          .then((body) => mine === sequence && show(query, [].concat(body.suggestions || [])))
          .catch(() => mine === sequence && open(false));
      }, 150);
    };

    list.id = input.id + "-list";
    set(list, "role", "listbox");
    if (label) set(list, "aria-labelledby", (label.id ||= input.id + "-label"));
    set(status, "aria-live", "polite"); // not role=status: the page's own notices keep that
    input.before(box);
    box.append(input, list, status);
    if (focused) input.focus();
    input.autocomplete = "off";
    set(input, "role", "combobox");
    set(input, "aria-autocomplete", "list");
    set(input, "aria-controls", list.id);
    open(false);

    input.addEventListener("input", request);
    input.addEventListener("focusout", close); // Tab, or a click anywhere but on the list
    addEventListener("pagehide", close);
    // Pressing an option keeps the focus in the input; the click then follows the option.
    list.addEventListener("mousedown", (event) => event.preventDefault());
    list.addEventListener("click", (event) => {
      const option = event.target.closest("[role=option]");
      if (option) go(items[[...list.children].indexOf(option)]);
    });

    input.addEventListener("keydown", (event) => {
      const n = items.length;
      const key = event.key;
      if ((key === "ArrowDown" || key === "ArrowUp") && !event.altKey) {
        event.preventDefault();
        if (list.hidden) {
          if (!n || answered !== input.value.trim()) return request();
          open(true);
        }
        const down = key === "ArrowDown";
        activate(active < 0 ? (down ? 0 : n - 1) : (active + (down ? 1 : n - 1)) % n);
      } else if (key === "Enter" && active >= 0) {
        event.preventDefault(); // instead of sending the form
        go(items[active]);
      } else if (key === "Escape") {
        // Closes the list; without one, clears the input (as the APG suggests, and instead of
        // the browser's own clearing, which would send an input event).
        event.preventDefault();
        if (list.hidden) input.value = status.textContent = "";
        close();
      } else if (["ArrowLeft", "ArrowRight", "Home", "End"].includes(key)) {
        activate(-1); // back to editing the text
      }
    });
  });
})();
