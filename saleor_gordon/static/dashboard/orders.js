// The Orders screen: counts per status, the shop's orders (filtered, searched and paginated by the
// server), an order's history, Retry for one order and for every failed one, Try fulfilling
// again where an order's fulfillment is blocked.
//
// One state object; `ordersView(ctx, screen)` renders it; events change it and call ctx.update().
// The table is redrawn on every refresh (lit-html keeps the focus and what is typed). After a
// Retry the screen asks again every 1.5 s until the order is no longer queued or running, so the
// row shows the truth as soon as the worker has it.

import { fulfillmentView, historyList, trackingLink } from "./order-status.js";
import { errorNotice, none, notice, serverText, statusPill, timeAgo } from "./ui.js";
import { html, nothing } from "./vendor/lit-html/lit-html.js";
import { live } from "./vendor/lit-html/directives/live.js";
import { repeat } from "./vendor/lit-html/directives/repeat.js";

const PAGE_SIZE = 25;
const REFRESH_MS = 10_000;
const WATCH_MS = 1_500;
const WATCH_FOR_MS = 60_000;
const SEARCH_DELAY_MS = 250;

export function ordersScreen(ctx) {
  const screen = {
    filter: { status: "", search: "", page: 1 },
    searchText: "",
    data: null, // {items, total, page, page_size, counts}
    loading: false,
    error: null,
    histories: new Map(), // job id -> {state: "loading" | "ready" | "error", job, error}
    feedback: null, // {kind, key, params} or {kind, error}
    busy: new Set(), // job ids whose Retry is being asked
    retryingAll: false,
    watching: new Map(), // job id -> until (ms): refresh fast until it settles
    timer: null,
    searchTimer: null,
    started: false,
  };
  screen.start = () => {
    if (screen.started) return;
    screen.started = true;
    load(ctx, screen);
  };
  screen.stop = () => {
    screen.started = false;
    clearTimeout(screen.timer);
  };
  return screen;
}

function schedule(ctx, screen) {
  clearTimeout(screen.timer);
  if (!screen.started) return;
  const delay = screen.watching.size ? WATCH_MS : REFRESH_MS;
  screen.timer = setTimeout(() => {
    if (document.visibilityState === "visible") load(ctx, screen, { quiet: true });
    else schedule(ctx, screen);
  }, delay);
}

async function load(ctx, screen, { quiet = false } = {}) {
  if (!quiet) screen.loading = true;
  ctx.update();
  const asked = { ...screen.filter };
  try {
    const data = await ctx.api.get("/jobs", {
      status: asked.status,
      search: asked.search,
      page: asked.page,
      page_size: PAGE_SIZE,
    });
    if (JSON.stringify(asked) !== JSON.stringify(screen.filter)) return; // a newer load is on its way
    screen.data = data;
    screen.error = null;
    settleWatched(ctx, screen, data.items);
  } catch (error) {
    screen.error = error;
  } finally {
    screen.loading = false;
    ctx.update();
    schedule(ctx, screen);
  }
}

function settleWatched(ctx, screen, items) {
  const now = Date.now();
  for (const [id, until] of screen.watching) {
    const job = items.find((item) => item.id === id);
    const settled = job && job.status !== "pending" && !job.in_progress;
    if (settled || !job || now > until) {
      screen.watching.delete(id);
      if (screen.histories.has(id)) loadHistory(ctx, screen, id);
    }
  }
}

function setStatus(ctx, screen, status) {
  screen.filter = { ...screen.filter, status, page: 1 };
  load(ctx, screen);
}

function typed(ctx, screen, text) {
  screen.searchText = text;
  clearTimeout(screen.searchTimer);
  screen.searchTimer = setTimeout(() => {
    screen.filter = { ...screen.filter, search: text.trim(), page: 1 };
    load(ctx, screen);
  }, SEARCH_DELAY_MS);
}

function goTo(ctx, screen, page) {
  screen.filter = { ...screen.filter, page };
  load(ctx, screen);
}

async function loadHistory(ctx, screen, id) {
  const entry = screen.histories.get(id) || { state: "loading" };
  screen.histories.set(id, entry);
  ctx.update();
  try {
    entry.job = await ctx.api.get(`/jobs/${id}`);
    entry.state = "ready";
  } catch (error) {
    entry.state = "error";
    entry.error = error;
  }
  ctx.update();
}

function toggleHistory(ctx, screen, id) {
  if (screen.histories.has(id)) {
    screen.histories.delete(id);
    ctx.update();
  } else {
    loadHistory(ctx, screen, id);
  }
}

/** Retry: the row shows the job as queued at once, then follows it. */
function retry(ctx, screen, job) {
  return queueAgain(ctx, screen, job, { path: "retry", said: "orders.retry_queued", toast: "toast.retry_queued_title" });
}

/** Try fulfilling again (a blocked fulfillment), followed like a Retry. No page reload is asked
 * for: this page is no order page. */
function fulfilAgain(ctx, screen, job) {
  return queueAgain(ctx, screen, job, { path: "retry-fulfillment", said: "fulfil_again.queued", toast: "fulfil_again.toast_title" });
}

/** Ask the server to run the row's job again (`/jobs/{id}/{path}`), show the job it answers at
 * once and follow it; `said` and `toast` are the catalogue keys of what the shop owner reads. */
async function queueAgain(ctx, screen, job, { path, said, toast }) {
  screen.busy.add(job.id);
  ctx.update();
  const number = orderNumber(job);
  try {
    const result = await ctx.api.post(`/jobs/${job.id}/${path}`);
    if (result.job && screen.data) {
      screen.data.items = screen.data.items.map((item) => (item.id === job.id ? result.job : item));
    }
    screen.watching.set(job.id, Date.now() + WATCH_FOR_MS);
    screen.feedback = { kind: "success", key: said, params: { number } };
    ctx.bridge.notify("success", ctx.t(toast), ctx.t(said, { number }));
    // the row may now have no such button: keep the keyboard on the row's History button
    queueMicrotask(() => document.querySelector(`tr[data-job-id="${job.id}"] button[aria-expanded]`)?.focus());
  } catch (error) {
    screen.feedback = { kind: "error", error };
  } finally {
    screen.busy.delete(job.id);
    load(ctx, screen, { quiet: true });
  }
}

async function retryFailed(ctx, screen) {
  screen.retryingAll = true;
  ctx.update();
  try {
    const result = await ctx.api.post("/jobs/retry-failed");
    const count = result.queued;
    screen.feedback = { kind: count ? "success" : "info", key: "orders.retry_failed_done", params: { count } };
    if (count) {
      ctx.bridge.notify("success", ctx.t("toast.retry_queued_title"), ctx.t("orders.retry_failed_done", { count }));
      for (const item of screen.data?.items || []) {
        if (item.status === "failed") screen.watching.set(item.id, Date.now() + WATCH_FOR_MS);
      }
    }
  } catch (error) {
    screen.feedback = { kind: "error", error };
  } finally {
    screen.retryingAll = false;
    load(ctx, screen, { quiet: true });
  }
}

function orderNumber(job) {
  return job.order_number ? `#${job.order_number}` : job.order_id;
}

// --- view -----------------------------------------------------------------------------------------

export function ordersView(ctx, screen) {
  const { t } = ctx;
  const statuses = ctx.knowledge.statuses;
  const counts = screen.data?.counts || {};
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  const count = (status, label, number) =>
    html`<button class="count" type="button" aria-pressed=${String(screen.filter.status === status)}
      @click=${() => setStatus(ctx, screen, screen.filter.status === status ? "" : status)}>
      <span class="number">${ctx.i18n.number(number)}</span><span class="label">${label}</span>
    </button>`;
  return html`
    <div class="counts" role="group" aria-label=${t("orders.counts_label")}>
      ${count("", t("orders.all"), total)}
      ${statuses.map((status) => count(status, t(`status.${status}`), counts[status] || 0))}
    </div>
    <div class="toolbar">
      <div class="field">
        <label for="orders-search">${t("orders.search")}</label>
        <input id="orders-search" type="search" placeholder=${t("orders.search_placeholder")}
          .value=${live(screen.searchText)} @input=${(event) => typed(ctx, screen, event.target.value)}>
      </div>
      <div class="field narrow">
        <label for="orders-status">${t("orders.status")}</label>
        <select id="orders-status" .value=${live(screen.filter.status)}
          @change=${(event) => setStatus(ctx, screen, event.target.value)}>
          <option value="" ?selected=${screen.filter.status === ""}>${t("orders.all_statuses")}</option>
          ${statuses.map((s) => html`<option value=${s} ?selected=${screen.filter.status === s}>${t(`status.${s}`)}</option>`)}
        </select>
      </div>
      <button class="btn" type="button" @click=${() => load(ctx, screen)}>${t("orders.refresh")}</button>
      <button class="btn" type="button" ?disabled=${!counts.failed || screen.retryingAll}
        @click=${() => retryFailed(ctx, screen)}>${t("orders.retry_failed")}</button>
    </div>
    <div class="feedback" role="status" aria-live="polite">${feedbackView(ctx, screen.feedback)}</div>
    ${tableView(ctx, screen)}
    ${pagerView(ctx, screen)}
  `;
}

function feedbackView(ctx, feedback) {
  if (!feedback) return nothing;
  if (feedback.error) return errorNotice(ctx, feedback.error, "orders.action_failed");
  return notice(feedback.kind, ctx.t(feedback.key, feedback.params));
}

function tableView(ctx, screen) {
  const { t } = ctx;
  if (screen.error && !screen.data) return errorNotice(ctx, screen.error, "orders.load_failed");
  if (!screen.data) return html`<p class="spinner" role="status">${t("orders.loading")}</p>`;
  const items = screen.data.items;
  const stale = screen.error ? errorNotice(ctx, screen.error, "orders.load_failed") : nothing;
  if (!items.length) {
    const filtered = screen.filter.status || screen.filter.search;
    return html`${stale}<div class="table-wrap"><p class="empty">${t(filtered ? "orders.none_match" : "orders.none_yet")}</p></div>`;
  }
  const headings = ["orders.col_order", "orders.col_status", "orders.col_tracking", "orders.col_message", "orders.col_attempt", "orders.col_actions"];
  return html`${stale}<div class="table-wrap"><table>
    <caption class="visually-hidden">${t("orders.caption")}</caption>
    <thead><tr>${headings.map((key) => html`<th scope="col">${t(key)}</th>`)}</tr></thead>
    <tbody>${repeat(items, (job) => job.id, (job) => rowView(ctx, screen, job))}</tbody>
  </table></div>`;
}

function rowView(ctx, screen, job) {
  const { t } = ctx;
  const number = orderNumber(job);
  const open = screen.histories.has(job.id);
  const retryable = ctx.knowledge.retryable_statuses.includes(job.status);
  const row = html`<tr data-job-id=${job.id}>
    <td><a href=${ctx.bridge.orderUrl(job.order_id)} @click=${(event) => {
      event.preventDefault();
      ctx.bridge.redirect(`/orders/${encodeURIComponent(job.order_id)}`);
    }}>${number}</a></td>
    <td>${statusPill(ctx, job.status)}</td>
    <td><span class="mono">${job.tracking_url ? trackingLink(job, job.tracking_id) : job.tracking_id || none}</span>
      ${job.fulfillment_state ? html`<div class="small">${fulfillmentView(ctx, job)}</div>` : nothing}</td>
    <td class="message">${messageView(ctx, job)}</td>
    <td>${timeAgo(ctx, job.last_attempt_at)}</td>
    <td><div class="actions">
      <button class="btn btn-small" type="button" aria-expanded=${String(open)} aria-label=${t("orders.history_of", { number })}
        @click=${() => toggleHistory(ctx, screen, job.id)}>${t("orders.history")}</button>
      ${retryable
        ? html`<button class="btn btn-small" type="button" aria-label=${t("orders.retry_order", { number })}
            ?disabled=${screen.busy.has(job.id)} @click=${() => retry(ctx, screen, job)}>${t("orders.retry")}</button>`
        : nothing}
      ${job.fulfillment_retryable
        ? html`<button class="btn btn-small" type="button" aria-label=${t("fulfil_again.action_order", { number })}
            ?disabled=${screen.busy.has(job.id)} @click=${() => fulfilAgain(ctx, screen, job)}>${t("fulfil_again.action")}</button>`
        : nothing}
    </div></td>
  </tr>`;
  return open ? html`${row}${historyRow(ctx, screen.histories.get(job.id), job.id)}` : row;
}

/** What the row says: the truth now (queued, sending, next attempt) before the last message. */
function messageView(ctx, job) {
  const { t } = ctx;
  if (job.in_progress) return html`<span class="text">${t("orders.sending_now")}</span>`;
  if (job.status === "pending") return html`<span class="text">${t("orders.queued")}</span>`;
  const last = job.last_message ? ctx.i18n.say(job.last_message) : "";
  const shown = job.last_message ? serverText(ctx, job.last_message) : "—";
  const next =
    job.status === "retrying" && job.next_attempt_at
      ? html`<span class="next">${timeAgo(ctx, job.next_attempt_at, { prefixKey: "orders.next_attempt" })}</span>`
      : nothing;
  return html`<span class="text" title=${last}>${shown}</span>${next}`;
}

function historyRow(ctx, history, id) {
  let content;
  if (history.state === "loading" && !history.job) content = html`<p class="muted">${ctx.t("history.loading")}</p>`;
  else if (history.state === "error") content = errorNotice(ctx, history.error, "history.load_failed");
  else content = historyList(ctx, history.job);
  return html`<tr class="history" data-history-of=${id}><td colspan="6">${content}</td></tr>`;
}

function pagerView(ctx, screen) {
  if (!screen.data || !screen.data.total) return nothing;
  const { page, page_size: size, total } = screen.data;
  const pages = Math.max(1, Math.ceil(total / size));
  const from = (page - 1) * size + 1;
  const to = Math.min(total, page * size);
  const n = (value) => ctx.i18n.number(value);
  return html`<nav class="pager" aria-label=${ctx.t("orders.pages")}>
    <span class="muted">${ctx.t("orders.range", { from: n(from), to: n(to), count: total })}</span>
    <button class="btn btn-small" type="button" ?disabled=${page <= 1} @click=${() => goTo(ctx, screen, page - 1)}>${ctx.t("orders.previous")}</button>
    <span class="muted">${ctx.t("orders.page_of", { page: n(page), pages: n(pages) })}</span>
    <button class="btn btn-small" type="button" ?disabled=${page >= pages} @click=${() => goTo(ctx, screen, page + 1)}>${ctx.t("orders.next")}</button>
  </nav>`;
}
