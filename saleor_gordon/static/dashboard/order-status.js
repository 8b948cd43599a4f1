// One order's state in Gordon, as the widget, the popup and the Orders screen show it: the facts
// (tracking ID, delivery date, time window, reference, attempts), the history of its attempts,
// and a channel on which the app's frames of one browser tell each other that an order changed.

import { errorNotice, exactTime, none, notice, serverText, timeAgo } from "./ui.js";
import { html, nothing } from "./vendor/lit-html/lit-html.js";

const FOLLOW_EVERY_MS = 1_000;
const FOLLOW_FOR_MS = 20_000;

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
  const why = shownReason(job);
  return html`<span class="fulfillment fulfillment-${state}">${label}</span>${why ? html`<span class="fulfillment-why small">${serverText(ctx, job.fulfillment_message)}</span>` : nothing}`;
}

/** The fulfillment's reason when fulfillmentView shows it, else null. */
function shownReason(job) {
  return (job.fulfillment_state && EXPLAINED_FULFILLMENTS.has(job.fulfillment_state) && job.fulfillment_message) || null;
}

// The job's messages that end with the fulfillment's reason ("{done} Fulfillment in Saleor:
// {detail}"), and what is left of them once the reason is shown beside "Fulfillment".
const ENDS_WITH_REASON = {
  "job.fulfillment_failed": (params) => params.done || null,
  "job.fulfillment_problem": () => null,
};

/** The job's last message, without the fulfillment's reason when the facts show it already: the
 * widget said the same three lines twice in its 344 px (under "Fulfillment", then in the
 * message). */
function lastMessage(job) {
  const message = job.last_message;
  const reason = shownReason(job);
  const rest = message && message.code && ENDS_WITH_REASON[message.code];
  if (!rest || !reason || !message.params) return message;
  const text = (entry) => (entry && typeof entry === "object" ? entry.message : entry);
  return text(message.params.detail) === text(reason) ? rest(message.params) : message;
}

/**
 * *Try fulfilling again* (a blocked fulfillment: `job.fulfillment_retryable`, from the server):
 * the order's job runs at once; Gordon, whose copy is unchanged, is not asked again. `onJob(job)`
 * gets the job as the server answered (queued: the page shows that at once) and then as it is
 * every second until the attempt settled (or 20 s passed). Returns what became of it: `done` (the
 * fulfillment went ahead), `still_blocked`, `other` (the job's own message says) or `queued`
 * (not tried yet). Throws the API's refusal (nothing to try again).
 */
export async function fulfilAgain(ctx, job, onJob) {
  const answer = await ctx.api.post(`/jobs/${job.id}/retry-fulfillment`);
  let now = answer.job;
  if (now) onJob(now);
  const until = Date.now() + FOLLOW_FOR_MS;
  while (Date.now() < until && (!now || now.in_progress || now.status === "pending")) {
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
    try {
      now = (await ctx.api.get(`/jobs/${job.id}`)) || now;
    } catch {
      continue; // keep following; the outcome is told when known
    }
    onJob(now);
  }
  return fulfilOutcome(now);
}

function fulfilOutcome(job) {
  if (!job || job.in_progress || job.status === "pending") return "queued";
  if (job.fulfillment_state === "blocked") return job.status === "synced" ? "still_blocked" : "other";
  return job.status === "synced" ? "done" : "other";
}

/**
 * The order page's *Try fulfilling again* (widget and popup): its button where the fulfillment is
 * blocked, then what became of it. `action` is the page's {state: idle | following | done |
 * failed, outcome, error}; `run` starts it. After an attempt the order page is asked to reload
 * (refreshEntity), which `fulfilAgainOnOrderPage` does.
 */
export function fulfilAgainView(ctx, job, action, run) {
  const { t } = ctx;
  let result = nothing;
  if (action.state === "following") result = notice("info", t("fulfil_again.following"), { role: "status" });
  else if (action.state === "failed") result = errorNotice(ctx, action.error, "fulfil_again.action");
  else if (action.state === "done") {
    const kind = OUTCOME_KINDS[action.outcome];
    const text = outcomeText(ctx, action.outcome, job);
    result = notice(kind, html`${text}${action.reloadHint ? html` <span class="block">${t("send.reload_hint")}</span>` : nothing}`, { role: "status" });
  }
  const offered = job && job.fulfillment_retryable && action.state !== "following";
  const button = offered
    ? html`<button class="btn btn-small" type="button" data-action="fulfil-again" @click=${run}>${t("fulfil_again.action")}</button>`
    : nothing;
  return html`<div class="fulfil-again" aria-live="polite">${result}</div>${offered ? html`<div class="actions">${button}</div>` : nothing}`;
}

/** Run *Try fulfilling again* on an order page: the state for `fulfilAgainView`, the job shown
 * as it changes (`onJob`), the Dashboard asked to reload the order once the app acted on it, and,
 * with `toast` (the widget), the Dashboard's toast. The popup asks for none: the Dashboard shows
 * toasts bottom right, over the popup's Close button, and its notice says the same. */
export async function fulfilAgainOnOrderPage(ctx, job, action, onJob, { toast }) {
  action.state = "following";
  action.error = null;
  ctx.update();
  try {
    action.outcome = await fulfilAgain(ctx, job, (now) => {
      action.job = now;
      onJob(now);
    });
  } catch (error) {
    action.state = "failed";
    action.error = error;
    ctx.update();
    return;
  }
  const acted = action.outcome !== "queued";
  action.reloadHint = acted && !ctx.bridge.supports("refreshEntity");
  action.state = "done";
  if (acted) ctx.bridge.refreshEntity();
  ctx.update();
  if (toast) ctx.bridge.notify(OUTCOME_KINDS[action.outcome], ctx.t("fulfil_again.toast_title"), outcomeText(ctx, action.outcome, action.job));
}

const OUTCOME_KINDS = { done: "success", still_blocked: "warning", other: "warning", queued: "info" };

function outcomeText(ctx, outcome, job) {
  const { t } = ctx;
  if (outcome === "done") return t("fulfil_again.done");
  if (outcome === "still_blocked") return t("fulfil_again.still_blocked");
  if (outcome === "other") return t("fulfil_again.other", { message: job?.last_message ? ctx.i18n.say(job.last_message) : "" });
  return t("fulfil_again.queued", { number: job?.order_number ? `#${job.order_number}` : "" });
}

/** What the order's last message says now: queued or being sent before the stored message. */
export function jobMessage(ctx, job) {
  if (job.in_progress) return ctx.t("orders.sending_now");
  if (job.status === "pending") return ctx.t("orders.queued");
  const message = lastMessage(job);
  return message ? serverText(ctx, message) : nothing;
}

/** The order's attempts, oldest first, each at its exact time (attempts are often seconds apart). */
export function historyList(ctx, job) {
  const { t } = ctx;
  if (!job.history.length) return html`<p class="muted">${t("history.empty")}</p>`;
  return html`<ol class="history-list" aria-label=${t("history.label")}>
    ${job.history.map(
      (entry) => html`<li>${exactTime(ctx, entry.at)}<span class="step">${stepLabel(ctx, entry)}</span>
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
