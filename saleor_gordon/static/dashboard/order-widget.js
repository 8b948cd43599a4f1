// The order page's widget (ORDER_DETAILS_WIDGETS): Gordon status, tracking ID, delivery date and
// time window, the last message. It tells the Dashboard its height (widgetResize), because a
// widget frame is 200 px tall otherwise.

import { boot, errorNotice } from "./boot.js";
import { clear, h, statusPill, timeAgo } from "./dom.js";

boot(async ({ api, bridge, root }) => {
  const widget = h("div", { class: "widget", "aria-live": "polite" });
  root.append(widget);
  const report = () => bridge.resizeWidget(document.documentElement.scrollHeight);
  new ResizeObserver(report).observe(document.body);
  if (!bridge.orderId) {
    widget.append(h("p", { class: "muted" }, "This widget belongs on an order's page."));
    return;
  }
  const load = async () => {
    let data;
    try {
      data = await api.get("/order", { order_id: bridge.orderId });
    } catch (error) {
      clear(widget).append(errorNotice(error, "No Gordon status"));
      return;
    }
    clear(widget).append(render(data.job));
  };
  await load();
  setInterval(() => document.visibilityState === "visible" && load(), 15_000);
});

function render(job) {
  if (!job) {
    return h(
      "div",
      {},
      h("p", {}, h("span", { class: "pill" }, "Not sent")),
      h("p", { class: "muted" }, "Not sent to Gordon: no event of this order has reached the app yet. Use “Send to Gordon” in the order's menu to send it now."),
    );
  }
  const rows = [
    ["Tracking ID", job.tracking_id ? h("span", { class: "mono" }, job.tracking_id) : h("span", { class: "muted" }, "Not yet")],
    ["Delivery date", job.delivery_date || h("span", { class: "muted" }, "—")],
    ["Time window", job.time_window || h("span", { class: "muted" }, "—")],
    ["Reference", job.external_ref ? h("span", { class: "mono" }, job.external_ref) : h("span", { class: "muted" }, "—")],
    ["Last attempt", timeAgo(job.last_attempt_at)],
  ];
  return h(
    "div",
    {},
    h("div", {}, statusPill(job.status), job.in_progress ? h("span", { class: "muted small" }, " sending…") : null),
    h("dl", {}, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])),
    job.last_message ? h("p", { class: "message" }, job.last_message) : null,
  );
}
