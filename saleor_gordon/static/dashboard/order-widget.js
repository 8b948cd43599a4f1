// The order page's widget (ORDER_DETAILS_WIDGETS): Gordon status, tracking ID, delivery date and
// time window, the last message and the next attempt. It tells the Dashboard its height
// (widgetResize) whenever its content's height changes, growing or shrinking, because a widget
// frame is 200 px tall otherwise, except while the app's popup is open (sizer).
//
// On a Dashboard that opens popups for widgets (openPopup, 3.23.19+) it offers *Send to Gordon*
// (an order the app has not sent: unknown or skipped), *Send again* (one that failed where Retry
// can change something) and *Details*: all open the app's "Send to Gordon" popup for this order
// (its extension identifier is on <body data-send-popup>). Elsewhere, or when the Dashboard
// cannot open it (an installation from before the manifest named its extensions), the widget
// says where the same popup is: the order's menu. When the popup changes the order, the widget
// shows the new state at once (orderChannel). Where the order's fulfillment is blocked, it offers
// *Try fulfilling again* itself (order-status.js).

import { boot } from "./boot.js";
import { fulfilAgainOnOrderPage, fulfilAgainView, jobFacts, jobMessage, orderChannel, POPUP_SILENCE_MS } from "./order-status.js";
import { errorNotice, notice, statusPill } from "./ui.js";
import { html, nothing } from "./vendor/lit-html/lit-html.js";

const REFRESH_MS = 15_000;
const REOPEN_AFTER_MS = 1_500;

const page = {
  title: "widget.title",
  state: "loading", // loading | ready | error | no-order
  job: null,
  error: null,
  popup: "idle", // idle | opening | unavailable: the Dashboard could not open the popup
  fulfil: { state: "idle" }, // Try fulfilling again (order-status.js)
  channel: null,

  async start(ctx) {
    const channel = orderChannel();
    page.channel = channel;
    sizer.start(ctx, channel);
    if (!ctx.bridge.orderId) {
      page.state = "no-order";
      ctx.update();
      return;
    }
    ctx.api.get("/session").then((session) => {
      ctx.i18n.setTimeZone(session.timezone);
      ctx.update();
    }, () => {});
    channel.listen(ctx.bridge.orderId, (job) => {
      page.job = job;
      page.state = "ready";
      ctx.update();
    });
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
    else content = html`${jobView(ctx, page.job)}${fulfilAgainView(ctx, page.job, page.fulfil, () => fulfilAgain(ctx))}${actionsView(ctx, page.job)}`;
    return html`<div class="widget" aria-live="polite">${content}</div>`;
  },
};

/** Try fulfilling again: the card follows the order (and tells an open popup), the order page
 * reloads once the app acted on it, and the Dashboard's toast says what became of it. */
function fulfilAgain(ctx) {
  const onJob = (job) => {
    page.job = job;
    page.channel.post(ctx.bridge.orderId, job);
    ctx.update();
  };
  return fulfilAgainOnOrderPage(ctx, page.job, page.fulfil, onJob, { toast: true });
}

/**
 * The widget's height for the Dashboard (widgetResize): the height of its content, sent whenever
 * the body's size changes (a ResizeObserver: every render, a font that loaded, a narrower frame).
 * It is measured on the body, never as the document's scrollHeight: that is at least the frame's
 * current height, so content that shrank (the action done, a reason gone) would keep the old
 * height and leave an empty band under the card.
 *
 * Held while the app's popup for this order is open: the Dashboard sets the height a widget asks
 * for on every frame of the app, so the popup would shrink to the widget's size. The height is
 * sent once the popup has closed (it says so, or has been silent for POPUP_SILENCE_MS).
 */
const sizer = {
  popupUntil: 0,
  held: false,
  timer: null,

  start(ctx, channel) {
    this.ctx = ctx;
    new ResizeObserver(() => this.report()).observe(document.body);
    if (ctx.bridge.orderId) channel.listenPopup(ctx.bridge.orderId, (open) => this.popup(open));
  },

  report() {
    this.held = Date.now() < this.popupUntil;
    if (!this.held) this.ctx.bridge.resizeWidget(contentHeight());
  },

  popup(open) {
    clearTimeout(this.timer);
    this.popupUntil = open ? Date.now() + POPUP_SILENCE_MS : 0;
    if (open) this.timer = setTimeout(() => this.held && this.report(), POPUP_SILENCE_MS + 50);
    else if (this.held) this.report();
  },
};

/** From the top of the document to the bottom of the body (its padding included). */
function contentHeight() {
  return document.body.getBoundingClientRect().bottom + window.scrollY;
}

function jobView(ctx, job) {
  const { t } = ctx;
  const popups = popupsOffered(ctx);
  if (!job) {
    return html`<p><span class="pill">${t("widget.not_sent")}</span></p>
      <p class="muted">${t(popups ? "widget.not_sent_text" : "widget.not_sent_menu")}</p>`;
  }
  const message = jobMessage(ctx, job);
  return html`<div>${statusPill(ctx, job.status)}${job.in_progress ? html` <span class="muted small">${t("widget.sending")}</span>` : nothing}</div>
    ${jobFacts(ctx, job)}
    ${message !== nothing ? html`<p class="message">${message}</p>` : nothing}
    ${!popups && job.status === "skipped" ? html`<p class="muted small">${t("widget.send_now_menu")}</p>` : nothing}
    ${!popups && job.retryable ? html`<p class="muted small">${t("widget.send_again_menu")}</p>` : nothing}`;
}

/** Can this widget open the popup here: a Dashboard that knows openPopup, which has not refused. */
function popupsOffered(ctx) {
  return ctx.bridge.supports("openPopup") && page.popup !== "unavailable" && Boolean(popupIdentifier());
}

function popupIdentifier() {
  return document.body.dataset.sendPopup || "";
}

function actionsView(ctx, job) {
  const { t } = ctx;
  if (page.popup === "unavailable") return notice("info", t("widget.popup_unavailable"), { role: "status" });
  if (!popupsOffered(ctx)) return nothing;
  // Gordon does not have it (never heard of, or skipped: Send to Gordon sends a skipped order),
  // or it failed where Retry can change something.
  let send = !job || job.status === "skipped" ? "widget.send" : job.retryable ? "widget.send_again" : null;
  if (job?.in_progress) send = null; // being sent right now
  const busy = page.popup === "opening";
  return html`<div class="actions widget-actions">
    ${send
      ? html`<button class="btn btn-primary btn-small" type="button" ?disabled=${busy}
          @click=${() => openPopup(ctx, "send")}>${t(send)}</button>`
      : nothing}
    ${job
      ? html`<button class="btn btn-small" type="button" ?disabled=${busy}
          @click=${() => openPopup(ctx, "details")}>${t("widget.details")}</button>`
      : nothing}
  </div>`;
}

/**
 * Ask the Dashboard to open the popup for this order. It refuses while it refreshes a stale
 * token ("retry shortly"): one more try; a second refusal means it cannot (e.g. the app was
 * installed before its manifest named the popup), and the widget points to the order's menu.
 */
async function openPopup(ctx, view) {
  page.popup = "opening";
  ctx.update();
  const params = { orderId: ctx.bridge.orderId, view };
  sizer.popup(true); // until the popup says it is open (or never opens)
  let opened = await ctx.bridge.openPopup(popupIdentifier(), params);
  if (!opened) {
    await new Promise((resolve) => setTimeout(resolve, REOPEN_AFTER_MS));
    opened = await ctx.bridge.openPopup(popupIdentifier(), params);
  }
  page.popup = opened ? "idle" : "unavailable";
  if (!opened) sizer.popup(false);
  ctx.update();
}

boot(page);
