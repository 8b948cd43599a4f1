// One order's state in Gordon, as the widget, the popup and the Orders screen show it: the facts
// (tracking ID, delivery date, time window, reference, attempts), the history of its attempts,
// and a channel on which the app's frames of one browser tell each other that an order changed.

import { none, serverText, timeAgo } from "./ui.js";
import { html, nothing } from "./vendor/lit-html/lit-html.js";

// Entries whose stored message lists internal keys (what was written on the order): the step's
// own words say it all.
const QUIET_STEPS = new Set(["write_back.written"]);

/** The order's facts in Gordon as a definition list. */
export function jobFacts(ctx, job) {
  const { t } = ctx;
  const rows = [
    ["widget.tracking_id", job.tracking_id ? html`<span class="mono">${job.tracking_id}</span>` : html`<span class="muted">${t("widget.not_yet")}</span>`],
    ...(job.tracking_url ? [["widget.tracking_link", trackingLink(job)]] : []),
    ...(job.fulfillment_state ? [["widget.fulfillment", fulfillmentView(ctx, job)]] : []),
    ["widget.delivery_date", job.delivery_date ? ctx.i18n.date(job.delivery_date, "medium") : none],
    ["widget.time_window", job.time_window || none],
    ["widget.reference", job.external_ref ? html`<span class="mono">${job.external_ref}</span>` : none],
    ["widget.last_attempt", timeAgo(ctx, job.last_attempt_at)],
  ];
  // While it is being sent, that is the attempt: no "next attempt" beside it.
  if (job.status === "retrying" && job.next_attempt_at && !job.in_progress) rows.push(["widget.next_attempt", timeAgo(ctx, job.next_attempt_at)]);
  return html`<dl class="facts">${rows.map(([term, value]) => html`<dt>${t(term)}</dt><dd>${value}</dd>`)}</dl>`;
}

/** The order's tracking link (the shop's tracking_url), opened outside the Dashboard. */
export function trackingLink(job, text = job.tracking_url) {
  return html`<a class="tracking-link" href=${job.tracking_url} target="_blank" rel="noopener noreferrer">${text}</a>`;
}

// Fulfillment states whose reason is worth reading: what blocks it, or what failed.
const EXPLAINED_FULFILLMENTS = new Set(["blocked", "to_do"]);

/** Where the order's fulfillment stands in Saleor (Gordon's tracking number on it), and why not. */
export function fulfillmentView(ctx, job) {
  const state = job.fulfillment_state;
  const label = ctx.i18n.has(`fulfillment.${state}`) ? ctx.t(`fulfillment.${state}`) : state;
  const why = EXPLAINED_FULFILLMENTS.has(state) && job.fulfillment_message;
  return html`<span class="fulfillment fulfillment-${state}">${label}</span>${why ? html`<span class="fulfillment-why small">${serverText(ctx, job.fulfillment_message)}</span>` : nothing}`;
}

/** What the order's last message says now: queued or being sent before the stored message. */
export function jobMessage(ctx, job) {
  if (job.in_progress) return ctx.t("orders.sending_now");
  if (job.status === "pending") return ctx.t("orders.queued");
  return job.last_message ? serverText(ctx, job.last_message) : nothing;
}

/** The order's attempts, oldest first. */
export function historyList(ctx, job) {
  const { t } = ctx;
  if (!job.history.length) return html`<p class="muted">${t("history.empty")}</p>`;
  return html`<ol class="history-list" aria-label=${t("history.label")}>
    ${job.history.map(
      (entry) => html`<li>${timeAgo(ctx, entry.at)}<span class="step">${stepLabel(ctx, entry)}</span>
        <span>${QUIET_STEPS.has(`${entry.action}.${entry.outcome}`) ? "" : serverText(ctx, entry.message)}</span></li>`,
    )}
  </ol>`;
}

function stepLabel(ctx, entry) {
  const exact = `history.${entry.action}.${entry.outcome}`;
  if (ctx.i18n.has(exact)) return ctx.t(exact);
  const action = `history.${entry.action}`;
  return ctx.i18n.has(action) ? ctx.t(action) : ctx.t("history.step", { attempt: entry.attempt });
}

const CHANNEL = "saleor-gordon:orders";
/** An open popup says so this often; the widget takes it as closed after POPUP_SILENCE_MS. */
export const POPUP_HEARTBEAT_MS = 2_000;
export const POPUP_SILENCE_MS = 5_000;

/**
 * The app's frames in this browser (the order's widget and its popup: same origin, same
 * Dashboard page) tell each other about an order: its new state, so the widget shows what the
 * popup just did without waiting for its next refresh (`post`, `listen`), and whether the popup
 * is open (`popup`, `listenPopup`), so the widget holds its widgetResize meanwhile: the Dashboard
 * applies a widget's resize to every frame of the app, the open popup included.
 */
export function orderChannel() {
  const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(CHANNEL) : null;
  const on = (orderId, pick) =>
    channel?.addEventListener("message", (event) => {
      const data = event.data;
      if (data && typeof data === "object" && data.orderId === orderId) pick(data);
    });
  return {
    post(orderId, job) {
      channel?.postMessage({ orderId, job });
    },
    listen(orderId, callback) {
      on(orderId, (data) => data.job && typeof data.job === "object" && callback(data.job));
    },
    popup(orderId, open) {
      channel?.postMessage({ orderId, popup: open });
    },
    listenPopup(orderId, callback) {
      on(orderId, (data) => typeof data.popup === "boolean" && callback(data.popup));
    },
  };
}
