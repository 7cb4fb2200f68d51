// hamlet's staff console: keyboard shortcuts, the live "N new items"
// notice and the public response's preview. Everything works without this
// file; it only saves moderators time. No token is kept here: the session
// is an HttpOnly cookie the script cannot read.

const KEYS_OFF = "hamlet-console-single-keys-off";

function singleKeysOff() {
  try {
    return localStorage.getItem(KEYS_OFF) === "1";
  } catch {
    return false;
  }
}

function typing(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

// ----- The keyboard ---------------------------------------------------------

const help = document.getElementById("keys-help");
let helpOpener = null;

function openHelp() {
  if (!help) return;
  helpOpener = document.activeElement;
  help.hidden = false;
  const off = help.querySelector("[data-keys-off]");
  if (off) off.checked = singleKeysOff();
  help.querySelector("[data-keys-close]")?.focus();
}

function closeHelp() {
  if (!help || help.hidden) return;
  help.hidden = true;
  if (helpOpener instanceof HTMLElement) helpOpener.focus();
}

help?.querySelector("[data-keys-close]")?.addEventListener("click", closeHelp);
help?.querySelector("[data-keys-off]")?.addEventListener("change", (event) => {
  try {
    localStorage.setItem(KEYS_OFF, event.target.checked ? "1" : "0");
  } catch {
    // Private browsing: the choice lasts for this page only.
  }
});

const rows = () => Array.from(document.querySelectorAll("[data-row]"));
let current = -1;

function moveTo(index) {
  const all = rows();
  if (all.length === 0) return;
  current = Math.max(0, Math.min(all.length - 1, index));
  all.forEach((row, i) => row.classList.toggle("is-current", i === current));
  all[current].querySelector("[data-open]")?.focus();
}

document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
    const form = document.querySelector("[data-save-form]");
    if (form) {
      event.preventDefault();
      form.requestSubmit();
    }
    return;
  }
  if (event.key === "Escape") {
    closeHelp();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  if (singleKeysOff() && event.key !== "?") return;
  switch (event.key) {
    case "j":
      moveTo(current + 1);
      break;
    case "k":
      moveTo(current - 1);
      break;
    case "x": {
      const row = rows()[current];
      const box = row?.querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
      break;
    }
    case "/": {
      const search = document.querySelector("[data-search]");
      if (!search) return;
      search.focus();
      break;
    }
    case "?":
      openHelp();
      break;
    default:
      return;
  }
  event.preventDefault();
});

// Keep focus inside the help while it is open.
help?.addEventListener("keydown", (event) => {
  if (event.key !== "Tab") return;
  const focusable = Array.from(help.querySelectorAll("input, button"));
  const first = focusable[0];
  const last = focusable[focusable.length - 1];
  if (event.shiftKey && document.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
});

// ----- New items, live ---------------------------------------------------------

const live = document.querySelector("[data-live]");
if (live && "EventSource" in window) {
  let arrived = 0;
  const link = live.querySelector("[data-live-link]");
  const source = new EventSource("/console/queue/live");
  source.addEventListener("submission", () => {
    arrived += 1;
    link.textContent = arrived === 1
      ? "1 new item has arrived. Reload the queue to see it"
      : `${arrived} new items have arrived. Reload the queue to see them`;
    live.hidden = false;
  });
  source.addEventListener("refused", () => source.close());
}

// ----- The public response, as residents will see it -----------------------------

const source = document.querySelector("[data-preview-source]");
const target = document.querySelector("[data-preview-target]");
if (source && target) {
  const empty = target.dataset.empty || "";
  const show = () => {
    target.textContent = source.value.trim() === "" ? empty : source.value;
  };
  source.addEventListener("input", show);
}

// ----- The editors' screens -----------------------------------------------------

// A screen that found problems brings its summary to the keyboard's focus.
document.querySelector("[data-error-summary]")?.focus();

// The public's view of each language follows what is typed, rendered by the
// API (the same previewPageBody as the Preview button); nothing is saved.
const drafts = document.querySelector("[data-drafts]");
if (drafts) {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const timers = {};
  const render = async (lang, text) => {
    const body = drafts.querySelector(`[data-preview-body="${lang}"]`);
    if (!body) return;
    try {
      const response = await fetch(`${drafts.getAttribute("action")}/preview`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrf },
        body: new URLSearchParams({ body: text }),
        credentials: "same-origin",
      });
      if (!response.ok) return;
      const answer = await response.json();
      // The API's HTML: Markdown with raw HTML escaped and unsafe links removed.
      if (typeof answer.html === "string") body.innerHTML = answer.html;
    } catch {
      // Offline or signed out: the Preview button still works.
    }
  };
  drafts.querySelectorAll("[data-live-preview]").forEach((area) => {
    const lang = area.dataset.livePreview;
    area.addEventListener("input", () => {
      clearTimeout(timers[lang]);
      timers[lang] = setTimeout(() => render(lang, area.value), 400);
    });
  });
  drafts.querySelectorAll("[data-live-title]").forEach((input) => {
    const title = drafts.querySelector(`[data-preview-title="${input.dataset.liveTitle}"]`);
    if (title) input.addEventListener("input", () => { title.textContent = input.value; });
  });
}
