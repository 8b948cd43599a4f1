// Tiny DOM helpers: every text goes in as text (never parsed as HTML).

/**
 * h("button", {class: "btn", onclick: fn, "aria-label": "x"}, "Save") -> <button>
 * Attributes: `class`, `text`, event handlers (on*), `dataset` (object), booleans, strings.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (name === "text") {
      element.textContent = value;
    } else if (name === "value" && "value" in element) {
      element.value = value;
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(element) {
  while (element.firstChild) element.firstChild.remove();
  return element;
}

let counter = 0;
/** A fresh id for label/input and aria-describedby pairs. */
export function uid(prefix = "f") {
  counter += 1;
  return `${prefix}-${counter}`;
}

const STATUS_LABELS = {
  pending: "Pending",
  retrying: "Retrying",
  synced: "Synced",
  needs_attention: "Needs attention",
  failed: "Failed",
  cancelled: "Cancelled",
  skipped: "Skipped",
};

export function statusLabel(status) {
  return STATUS_LABELS[status] || status;
}

/** A status pill: colour and word, so colour is never the only signal. */
export function statusPill(status) {
  return h("span", { class: `pill pill-${status}` }, statusLabel(status));
}

/** "3 min ago" with the exact time as a tooltip and for screen readers. */
export function timeAgo(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const moment = new Date(iso);
  const seconds = Math.round((Date.now() - moment.getTime()) / 1000);
  let text;
  if (seconds < 0) text = `in ${describe(-seconds)}`;
  else if (seconds < 45) text = "just now";
  else text = `${describe(seconds)} ago`;
  return h("time", { datetime: iso, title: moment.toLocaleString() }, text);
}

function describe(seconds) {
  if (seconds < 90) return "1 min";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400 * 1.5) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}
