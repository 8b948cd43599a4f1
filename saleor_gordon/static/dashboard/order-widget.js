// The order page's widget (ORDER_DETAILS_WIDGETS): Gordon status, tracking ID, delivery date and
// time window, the last message and the next attempt. It tells the Dashboard its height
// (widgetResize), because a widget frame is 200 px tall otherwise.

import { boot } from "./boot.js";
import { errorNotice, none, serverText, statusPill, timeAgo } from "./ui.js";
import { html, nothing } from "./vendor/lit-html/lit-html.js";

const REFRESH_MS = 15_000;

const page = {
  title: "widget.title",
  state: "loading", // loading | ready | error | no-order
  job: null,
  error: null,

  async start(ctx) {
    new ResizeObserver(() => ctx.bridge.resizeWidget(document.documentElement.scrollHeight)).observe(document.body);
    if (!ctx.bridge.orderId) {
      page.state = "no-order";
      ctx.update();
      return;
    }
    ctx.api.get("/session").then((session) => {
      ctx.i18n.setTimeZone(session.timezone);
      ctx.update();
    }, () => {});
    const load = async () => {
      try {
        page.job = (await ctx.api.get("/order", { order_id: ctx.bridge.orderId })).job;
        page.state = "ready";
      } catch (error) {
        page.error = error;
        page.state = "error";
      }
      ctx.update();
    };
    await load();
    setInterval(() => document.visibilityState === "visible" && load(), REFRESH_MS);
  },

  view(ctx) {
    const { t } = ctx;
    let content;
    if (page.state === "loading") content = html`<p class="muted" role="status">${t("common.loading")}</p>`;
    else if (page.state === "no-order") content = html`<p class="muted">${t("widget.no_order")}</p>`;
    else if (page.state === "error") content = errorNotice(ctx, page.error, "widget.load_failed");
    else content = jobView(ctx, page.job);
    return html`<div class="widget" aria-live="polite">${content}</div>`;
  },
};

function jobView(ctx, job) {
  const { t } = ctx;
  if (!job) {
    return html`<p><span class="pill">${t("widget.not_sent")}</span></p><p class="muted">${t("widget.not_sent_text")}</p>`;
  }
  const rows = [
    ["widget.tracking_id", job.tracking_id ? html`<span class="mono">${job.tracking_id}</span>` : html`<span class="muted">${t("widget.not_yet")}</span>`],
    ["widget.delivery_date", job.delivery_date ? ctx.i18n.date(job.delivery_date, "medium") : none],
    ["widget.time_window", job.time_window || none],
    ["widget.reference", job.external_ref ? html`<span class="mono">${job.external_ref}</span>` : none],
    ["widget.last_attempt", timeAgo(ctx, job.last_attempt_at)],
  ];
  if (job.status === "retrying" && job.next_attempt_at) rows.push(["widget.next_attempt", timeAgo(ctx, job.next_attempt_at)]);
  let message = job.last_message ? serverText(ctx, job.last_message) : nothing;
  if (job.status === "pending") message = t(job.in_progress ? "orders.sending_now" : "orders.queued");
  return html`<div>${statusPill(ctx, job.status)}${job.in_progress ? html` <span class="muted small">${t("widget.sending")}</span>` : nothing}</div>
    <dl>${rows.map(([term, value]) => html`<dt>${t(term)}</dt><dd>${value}</dd>`)}</dl>
    ${message !== nothing ? html`<p class="message">${message}</p>` : nothing}`;
}

boot(page);
