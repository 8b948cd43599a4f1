// "Send to Gordon" (ORDER_DETAILS_MORE_ACTIONS popup): the order's state in Gordon and its
// history, the exact Gordon order that would be sent, or every problem to fix. On confirmation the
// order's job is queued to run at once; the popup then follows it and says at its top what really
// happened (sent with its tracking ID, refused, or still queued). It asks for no Dashboard toast:
// the Dashboard shows toasts bottom right, over the popup's Close button (a click there lands on
// the toast and the popup stays open), and the toast would only repeat the popup's top. Once the
// app has acted on the order (and so written its status on it), the popup asks the Dashboard to
// reload the order page (refreshEntity, Dashboard 3.23.9+; on older ones it says that a reload
// shows it) and tells the order's widget the new state (orderChannel).
//
// Where the order's fulfillment is blocked, the order's state offers *Try fulfilling again*.
//
// Opened from the order's menu it gets ?orderId=; opened by the widget (openPopup) it gets
// appParams {orderId, view}: view "details" puts the order's state and history first, open.

import { boot } from "./boot.js";
import { fulfilAgainOnOrderPage, fulfilAgainView, historyList, jobFacts, jobMessage, orderChannel, POPUP_HEARTBEAT_MS } from "./order-status.js";
import { errorNotice, notice, serverText, statusPill } from "./ui.js";
import { html, nothing } from "./vendor/lit-html/lit-html.js";

const FOLLOW_EVERY_MS = 1_000;
const FOLLOW_FOR_MS = 20_000;
const FIELDS = [
  "external_ref", "customer-name", "address", "address2", "zip", "city", "country_code", "mobile", "email",
  "deliverydate", "time-window", "deliverygroup", "entrycode", "notes",
];

const page = {
  title: "send.title",
  state: "loading", // loading | ready | error | no-order
  preview: null,
  job: null, // the order's job in the app (null: the app has not heard of the order)
  mode: "send", // send | details (what the widget asked for)
  error: null,
  sending: null, // null | {state: "queueing" | "following" | "done" | "failed", job, error, outcome}
  fulfil: { state: "idle" }, // Try fulfilling again (order-status.js)
  channel: null,

  async start(ctx) {
    if (!ctx.bridge.orderId) {
      page.state = "no-order";
      ctx.update();
      return;
    }
    page.mode = ctx.bridge.appParams.view === "details" ? "details" : "send";
    page.channel = orderChannel();
    announceOpen(page.channel, ctx.bridge.orderId);
    ctx.api.get("/session").then((session) => {
      ctx.i18n.setTimeZone(session.timezone);
      ctx.update();
    }, () => {});
    try {
      const orderId = ctx.bridge.orderId;
      const [preview, status] = await Promise.all([
        ctx.api.get("/order/send-preview", { order_id: orderId }),
        ctx.api.get("/order", { order_id: orderId }),
      ]);
      page.preview = preview;
      page.job = status.job;
      page.state = "ready";
    } catch (error) {
      page.error = error;
      page.state = "error";
    }
    ctx.update();
  },

  view(ctx) {
    const { t } = ctx;
    let content;
    if (page.state === "loading") content = html`<p class="spinner" role="status">${t("send.reading")}</p>`;
    else if (page.state === "no-order") content = html`<p>${t("send.no_order")}</p>`;
    else if (page.state === "error") content = errorNotice(ctx, page.error, "send.read_failed");
    else content = previewView(ctx, page.preview);
    return html`<h1 class="visually-hidden">${t("send.title")}</h1><div class="preview">${content}</div>`;
  },
};

/** Tell the order's widget that this popup is open, and when it closes (see orderChannel). */
function announceOpen(channel, orderId) {
  channel.popup(orderId, true);
  const heartbeat = setInterval(() => channel.popup(orderId, true), POPUP_HEARTBEAT_MS);
  addEventListener("pagehide", () => {
    clearInterval(heartbeat);
    channel.popup(orderId, false);
  });
}

async function send(ctx, preview) {
  page.sending = { state: "queueing" };
  ctx.update();
  let before;
  try {
    before = (await ctx.api.get("/order", { order_id: preview.order_id })).job;
    await ctx.api.post("/order/send", { order_id: preview.order_id });
  } catch (error) {
    page.sending = { state: "failed", error };
    ctx.update();
    return;
  }
  page.sending = { state: "following", job: null };
  ctx.update();
  const until = Date.now() + FOLLOW_FOR_MS;
  let job = null;
  while (Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
    try {
      job = (await ctx.api.get("/order", { order_id: preview.order_id })).job;
    } catch {
      continue; // keep following; the outcome is told when known
    }
    page.sending.job = job;
    if (job) {
      page.job = job;
      page.channel.post(preview.order_id, job);
    }
    ctx.update();
    const attempted = job && job.last_attempt_at && job.last_attempt_at !== before?.last_attempt_at;
    if (attempted && !job.in_progress && job.status !== "pending") break;
  }
  const outcome = outcomeOf(job, before);
  // The app acted on the order and wrote its status on it: the order page shows it after a reload.
  const changed = outcome !== "queued";
  page.sending = { state: "done", job, outcome, reloadHint: changed && !ctx.bridge.supports("refreshEntity") };
  if (changed) ctx.bridge.refreshEntity();
  await ctx.rendered();
  document.getElementById("popup-close")?.focus(); // the one thing left to do
}

/** What really happened to the order: sent (Gordon confirmed), refused, retrying, or still queued. */
function outcomeOf(job, before) {
  const attempted = job && job.last_attempt_at && job.last_attempt_at !== before?.last_attempt_at;
  if (!attempted || job.in_progress || job.status === "pending") return "queued";
  if (job.status === "synced") return "sent";
  if (job.status === "retrying") return "retrying";
  return "refused";
}

/** The words of each outcome, said at the popup's top. */
const OUTCOME_WORDS = {
  sent: { title: "toast.sent_title", text: "send.outcome_sent" },
  retrying: { title: "toast.queued_title", text: "send.outcome_retrying" },
  refused: { title: "toast.not_sent_title", text: "send.outcome_refused" },
  queued: { title: "toast.queued_title", text: "send.outcome_queued" },
};

function textParams(ctx, number, job) {
  return {
    number: number ? `#${number}` : "",
    tracking_id: job?.tracking_id || "",
    when: job?.next_attempt_at ? ctx.i18n.dateTime(job.next_attempt_at) : "",
    message: job?.last_message ? ctx.i18n.say(job.last_message) : "",
  };
}

function sendingView(ctx, preview) {
  const { t } = ctx;
  const sending = page.sending;
  if (!sending) return nothing;
  const number = preview.order_number;
  if (sending.state === "queueing") return notice("info", t("send.queueing"));
  if (sending.state === "failed") return errorNotice(ctx, sending.error, "send.not_queued");
  if (sending.state === "following") return notice("info", t("send.following", { number: `#${number}` }));
  const kind = { sent: "success", retrying: "warning", refused: "error", queued: "info" }[sending.outcome];
  const params = textParams(ctx, number, sending.job);
  return notice(kind, html`<strong>${t(OUTCOME_WORDS[sending.outcome].title)}.</strong> ${t(OUTCOME_WORDS[sending.outcome].text, params)}
    ${sending.reloadHint ? html`<span class="block">${t("send.reload_hint")}</span>` : nothing}`);
}

/** Try fulfilling again: the popup follows the order and tells its widget; the order page reloads
 * once the app acted on it. No toast: it would cover Close and only repeat the popup's notice. */
function fulfilAgain(ctx) {
  const onJob = (job) => {
    page.job = job;
    page.channel.post(ctx.bridge.orderId, job);
    ctx.update();
  };
  return fulfilAgainOnOrderPage(ctx, page.job, page.fulfil, onJob, { toast: false });
}

/** The order's state in Gordon now: status, facts, last message and its history. */
function statusView(ctx, job, preview) {
  const { t } = ctx;
  if (!job) return nothing;
  // The preview below says it already (e.g. what to fix): not twice.
  const settled = !job.in_progress && job.status !== "pending";
  const message = settled && job.last_message && job.last_message.message === preview.message.message ? nothing : jobMessage(ctx, job);
  return html`<section class="order-status" aria-labelledby="order-status-title">
    <h2 id="order-status-title">${t("send.in_gordon")} ${statusPill(ctx, job.status)}</h2>
    ${jobFacts(ctx, job)}
    ${message !== nothing ? html`<p class="message">${message}</p>` : nothing}
    ${fulfilAgainView(ctx, job, page.fulfil, () => fulfilAgain(ctx))}
    <details ?open=${page.mode === "details"}><summary>${t("send.history")}</summary>${historyList(ctx, job)}</details>
  </section>`;
}

function previewView(ctx, preview) {
  const { t } = ctx;
  const number = preview.order_number ? `#${preview.order_number}` : "";
  // Gordon having the order as it is is good news; not sending for another reason is a warning.
  const kind = preview.can_send ? "info" : preview.action === "fix" ? "error" : preview.headline === "unchanged" ? "success" : "warning";
  // The server's message says what sending would do, or why not; the problems, when there are
  // any, are listed below it, each on its own.
  const detail = preview.action === "fix" && preview.problems.length ? nothing : serverText(ctx, preview.message);
  const done = page.sending && page.sending.state !== "failed";
  const busy = page.sending && ["queueing", "following"].includes(page.sending.state);
  const headline = done ? nothing : notice(kind, html`<strong>${t(`send.headline_${preview.headline}`, { number })}</strong> ${detail}`);
  const status = statusView(ctx, page.job, preview);
  return html`
    <div class="result-area" role="status" aria-live="polite">${sendingView(ctx, preview)}</div>
    ${page.mode === "details" ? html`${status}${headline}` : html`${headline}${status}`}
    ${preview.problems.length
      ? html`<h2>${t("send.to_fix")}</h2><ul class="problems">${preview.problems.map((p) => html`<li>${serverText(ctx, p)}</li>`)}</ul>`
      : nothing}
    ${preview.warnings.length
      ? html`<h2>${t("send.warnings")}</h2><ul class="problems">${preview.warnings.map((p) => html`<li>${serverText(ctx, p)}</li>`)}</ul>`
      : nothing}
    ${preview.gordon_order ? orderDetails(ctx, preview.gordon_order) : nothing}
    <div class="save-bar">
      <button class="btn" type="button" id="popup-close" @click=${() => ctx.bridge.closePopup()}>${t(done || !preview.can_send ? "send.close" : "send.cancel")}</button>
      ${done || !preview.can_send
        ? nothing
        : html`<button class="btn btn-primary" type="button" ?disabled=${busy}
            @click=${() => send(ctx, preview)}>${t(preview.action === "update" ? "send.update" : "send.send")}</button>`}
    </div>`;
}

function orderDetails(ctx, order) {
  const { t } = ctx;
  const shown = FIELDS.filter((key) => order[key] !== undefined && order[key] !== "");
  const value = (key) => {
    if (key === "deliverydate") return ctx.i18n.date(order[key], "medium");
    if (key === "country_code") return `${ctx.i18n.region(order[key])} (${order[key]})`;
    return String(order[key]);
  };
  const inventory = Array.isArray(order.inventory) ? order.inventory : [];
  return html`<section aria-labelledby="gordon-order-title">
    <h2 id="gordon-order-title">${t("send.what_gordon_gets")}</h2>
    <dl>${shown.map((key) => html`<dt>${t(`gordon_field.${key}`)}</dt><dd>${value(key)}</dd>`)}</dl>
    ${inventory.length
      ? html`<table>
          <caption class="visually-hidden">${t("send.items")}</caption>
          <thead><tr><th scope="col">${t("send.item")}</th><th scope="col">${t("send.quantity")}</th><th scope="col">${t("send.type")}</th></tr></thead>
          <tbody>${inventory.map((item) => html`<tr><td>${item.name}</td><td>${ctx.i18n.number(item.quantity)}</td>
            <td>${item.type ? t(`item_type.${item.type}`) : "—"}</td></tr>`)}</tbody>
        </table>`
      : nothing}
    <details><summary>${t("send.json")}</summary><pre class="json">${JSON.stringify(order, null, 2)}</pre></details>
  </section>`;
}

boot(page);
