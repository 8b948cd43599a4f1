// "Send to Gordon" (ORDER_DETAILS_MORE_ACTIONS popup): the exact Gordon order that would be sent,
// or every problem to fix; on confirmation the order's job is queued to run at once.

import { boot, errorNotice } from "./boot.js";
import { append, clear, h } from "./dom.js";

const FIELDS = [
  ["external_ref", "Reference"],
  ["customer-name", "Customer"],
  ["address", "Address"],
  ["address2", "Address line 2"],
  ["zip", "Postcode"],
  ["city", "City"],
  ["country_code", "Country"],
  ["mobile", "Mobile"],
  ["email", "E-mail"],
  ["deliverydate", "Delivery date"],
  ["time-window", "Time window"],
  ["deliverygroup", "Delivery group"],
  ["entrycode", "Entry code"],
  ["notes", "Notes"],
];

boot(async ({ api, bridge, root }) => {
  const view = h("div", { class: "preview" });
  root.append(h("h1", { class: "visually-hidden" }, "Send to Gordon"), view);
  if (!bridge.orderId) {
    view.append(h("p", {}, "Open this from an order's menu in the Dashboard."));
    return;
  }
  view.append(h("p", { class: "spinner", role: "status" }, "Reading the order…"));
  let preview;
  try {
    preview = await api.get("/order/send-preview", { order_id: bridge.orderId });
  } catch (error) {
    clear(view).append(errorNotice(error, "The order could not be read"));
    return;
  }
  append(clear(view), render(preview, api, bridge));
});

function render(preview, api, bridge) {
  const status = h("div", { class: "notice", role: "status", "aria-live": "polite" });
  const kind = preview.can_send ? "info" : preview.action === "fix" ? "error" : "warning";
  const parts = [h("div", { class: `notice notice-${kind}` }, h("strong", {}, headline(preview)), " ", preview.message)];
  if (preview.problems.length) {
    parts.push(
      h("h2", {}, "What to fix"),
      h(
        "ul",
        { class: "problems" },
        preview.problems.map((p) => h("li", {}, h("strong", {}, `${p.field}: `), `${p.reason}. `, h("span", { class: "muted" }, p.fix))),
      ),
    );
  }
  if (preview.warnings.length) {
    parts.push(
      h("h2", {}, "Warnings"),
      h("ul", { class: "problems" }, preview.warnings.map((p) => h("li", {}, p.message))),
    );
  }
  if (preview.gordon_order) parts.push(orderDetails(preview.gordon_order));
  const send = h(
    "button",
    {
      class: "btn btn-primary",
      type: "button",
      disabled: !preview.can_send,
      onclick: async () => {
        send.disabled = true;
        status.className = "notice notice-info";
        status.textContent = "Queueing…";
        try {
          const result = await api.post("/order/send", { order_id: preview.order_id });
          status.className = "notice notice-success";
          status.textContent = `${result.message} Its status shows in the order's Gordon Delivery card.`;
          bridge.notify("success", "Sent to Gordon", `Order #${preview.order_number} is queued.`);
          close.textContent = "Close";
          close.focus();
        } catch (error) {
          status.className = "notice notice-error";
          status.textContent = error.message;
          send.disabled = false;
        }
      },
    },
    preview.action === "update" ? "Update in Gordon" : "Send to Gordon",
  );
  const close = h("button", { class: "btn", type: "button", onclick: () => bridge.closePopup() }, "Cancel");
  parts.push(status, h("div", { class: "save-bar" }, close, send));
  return parts;
}

function headline(preview) {
  switch (preview.action) {
    case "send":
      return `Order #${preview.order_number} is ready for Gordon.`;
    case "update":
      return `Order #${preview.order_number} changed since it was sent.`;
    case "unchanged":
      return "Nothing to send.";
    case "fix":
      return "The order cannot be sent yet.";
    case "withdraw":
      return "The order is cancelled.";
    case "not_configured":
      return "Not configured.";
    default:
      return "Not for Gordon.";
  }
}

function orderDetails(order) {
  const rows = FIELDS.filter(([key]) => order[key] !== undefined && order[key] !== "").map(([key, label]) => [
    h("dt", {}, label),
    h("dd", {}, String(order[key])),
  ]);
  const inventory = Array.isArray(order.inventory) ? order.inventory : [];
  return h(
    "section",
    { "aria-label": "The Gordon order" },
    h("h2", {}, "What Gordon receives"),
    h("dl", {}, rows),
    inventory.length
      ? h(
          "table",
          {},
          h("caption", { class: "visually-hidden" }, "Items"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Item"), h("th", { scope: "col" }, "Quantity"), h("th", { scope: "col" }, "Type"))),
          h(
            "tbody",
            {},
            inventory.map((item) => h("tr", {}, h("td", {}, item.name), h("td", {}, String(item.quantity)), h("td", {}, item.type || "—"))),
          ),
        )
      : null,
    h("details", {}, h("summary", {}, "The exact request body (JSON)"), h("pre", { class: "json" }, JSON.stringify(order, null, 2))),
  );
}
