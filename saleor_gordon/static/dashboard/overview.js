// The sync overview: counts per status, the shop's orders (filtered, searched and paginated by
// the server), an order's history, and Retry for one order or for every failed one.

import { errorNotice } from "./boot.js";
import { clear, h, statusLabel, statusPill, timeAgo, uid } from "./dom.js";

const STATUSES = ["pending", "retrying", "synced", "needs_attention", "failed", "cancelled", "skipped"];
const RETRYABLE = new Set(["failed", "needs_attention", "retrying", "skipped", "cancelled"]);
const PAGE_SIZE = 25;
const REFRESH_MS = 10_000;

export function renderOverview({ api, bridge, root }) {
  const overview = new Overview(api, bridge, root);
  overview.render();
  return overview;
}

class Overview {
  constructor(api, bridge, root) {
    this.api = api;
    this.bridge = bridge;
    this.root = root;
    this.state = { status: "", search: "", page: 1 };
    this.open = new Set(); // job ids whose history is shown
    this.timer = null;
  }

  render() {
    this.counts = h("div", { class: "counts", role: "group", "aria-label": "Orders per status" });
    const searchId = uid("search");
    const statusId = uid("status");
    this.search = h("input", {
      type: "search",
      id: searchId,
      placeholder: "Order number, tracking ID or reference",
      oninput: () => this.debouncedLoad(),
    });
    this.statusSelect = h(
      "select",
      { id: statusId, onchange: () => this.setStatus(this.statusSelect.value) },
      h("option", { value: "" }, "All statuses"),
      STATUSES.map((status) => h("option", { value: status }, statusLabel(status))),
    );
    this.retryAll = h("button", { class: "btn", type: "button", onclick: () => this.retryFailed() }, "Retry all failed");
    this.feedback = h("div", { class: "notice", role: "status", "aria-live": "polite" });
    this.table = h("div", { class: "table-wrap" });
    this.pager = h("nav", { class: "pager", "aria-label": "Pages" });
    this.root.append(
      this.counts,
      h(
        "div",
        { class: "toolbar" },
        h("div", { class: "field" }, h("label", { for: searchId }, "Search"), this.search),
        h("div", { class: "field narrow" }, h("label", { for: statusId }, "Status"), this.statusSelect),
        h("button", { class: "btn", type: "button", onclick: () => this.load() }, "Refresh"),
        this.retryAll,
      ),
      this.feedback,
      this.table,
      this.pager,
    );
    this.load();
    this.timer = setInterval(() => {
      if (document.visibilityState === "visible" && this.root.isConnected) this.load({ quiet: true, auto: true });
      else if (!this.root.isConnected) clearInterval(this.timer);
    }, REFRESH_MS);
  }

  stop() {
    clearInterval(this.timer);
  }

  setStatus(status) {
    this.state.status = status;
    this.state.page = 1;
    this.statusSelect.value = status;
    this.load();
  }

  debouncedLoad() {
    clearTimeout(this.searchTimer);
    this.searchTimer = setTimeout(() => {
      this.state.search = this.search.value.trim();
      this.state.page = 1;
      this.load();
    }, 250);
  }

  /** `auto`: the periodic refresh, which never redraws the table under the keyboard focus. */
  async load({ quiet = false, auto = false } = {}) {
    if (!quiet && !this.table.firstChild) this.table.append(h("p", { class: "spinner", role: "status" }, "Loading orders…"));
    let page;
    try {
      page = await this.api.get("/jobs", {
        status: this.state.status,
        search: this.state.search,
        page: this.state.page,
        page_size: PAGE_SIZE,
      });
    } catch (error) {
      clear(this.table).append(errorNotice(error, "The orders could not be loaded"));
      return;
    }
    this.renderCounts(page.counts);
    if (auto && this.table.contains(document.activeElement)) return;
    this.renderTable(page.items);
    this.renderPager(page);
  }

  renderCounts(counts) {
    clear(this.counts);
    const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
    const button = (status, label, number) =>
      h(
        "button",
        {
          class: "count",
          type: "button",
          "aria-pressed": String(this.state.status === status),
          onclick: () => this.setStatus(this.state.status === status ? "" : status),
        },
        h("span", { class: "number" }, String(number)),
        h("span", { class: "label" }, label),
      );
    this.counts.append(button("", "All orders", total));
    for (const status of STATUSES) this.counts.append(button(status, statusLabel(status), counts[status] || 0));
    this.retryAll.disabled = !counts.failed;
  }

  renderTable(items) {
    clear(this.table);
    if (!items.length) {
      const filtered = this.state.status || this.state.search;
      this.table.append(
        h(
          "p",
          { class: "empty" },
          filtered
            ? "No orders match these filters."
            : "No orders yet. Orders appear here as soon as Saleor tells the app about them.",
        ),
      );
      return;
    }
    const body = h("tbody");
    for (const job of items) {
      body.append(this.row(job));
      if (this.open.has(job.id)) body.append(this.historyRow(job.id));
    }
    this.table.append(
      h(
        "table",
        {},
        h("caption", { class: "visually-hidden" }, "Orders and their sync with Gordon"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Order", "Status", "Tracking ID", "Last message", "Last attempt", "Actions"].map((title) =>
              h("th", { scope: "col" }, title),
            ),
          ),
        ),
        body,
      ),
    );
  }

  row(job) {
    const number = job.order_number ? `#${job.order_number}` : job.order_id;
    const link = h(
      "a",
      {
        href: this.bridge.orderUrl(job.order_id),
        onclick: (event) => {
          event.preventDefault();
          this.bridge.redirect(`/orders/${encodeURIComponent(job.order_id)}`);
        },
      },
      number,
    );
    const historyButton = h(
      "button",
      {
        class: "btn btn-small",
        type: "button",
        "aria-expanded": String(this.open.has(job.id)),
        "aria-label": `History of order ${number}`,
        onclick: () => this.toggleHistory(job.id),
      },
      "History",
    );
    const retry = RETRYABLE.has(job.status)
      ? h(
          "button",
          { class: "btn btn-small", type: "button", "aria-label": `Retry order ${number}`, onclick: (event) => this.retry(job, event.currentTarget) },
          "Retry",
        )
      : null;
    return h(
      "tr",
      { dataset: { jobId: String(job.id) } },
      h("td", {}, link),
      h("td", {}, statusPill(job.status), job.in_progress ? h("span", { class: "muted small" }, " running") : null),
      h("td", { class: "mono" }, job.tracking_id || h("span", { class: "muted" }, "—")),
      h("td", { class: "message" }, h("span", { class: "text", title: job.last_message || "" }, job.last_message || "—")),
      h("td", {}, timeAgo(job.last_attempt_at)),
      h("td", {}, h("div", { class: "actions" }, historyButton, retry)),
    );
  }

  historyRow(jobId) {
    const cell = h("td", { colspan: "6" }, h("p", { class: "muted" }, "Loading history…"));
    const row = h("tr", { class: "history", dataset: { historyOf: String(jobId) } }, cell);
    this.api
      .get(`/jobs/${jobId}`)
      .then((job) => {
        clear(cell);
        if (!job.history.length) {
          cell.append(h("p", { class: "muted" }, "No attempt yet."));
          return;
        }
        cell.append(
          h(
            "ol",
            { "aria-label": "History, oldest first" },
            job.history.map((entry) =>
              h(
                "li",
                {},
                timeAgo(entry.at),
                h("span", {}, `${entry.action}: ${entry.outcome}`),
                h("span", {}, entry.message || ""),
              ),
            ),
          ),
        );
      })
      .catch((error) => clear(cell).append(errorNotice(error, "The history could not be loaded")));
    return row;
  }

  async toggleHistory(jobId) {
    if (this.open.has(jobId)) this.open.delete(jobId);
    else this.open.add(jobId);
    await this.load({ quiet: true });
    const button = this.table.querySelector(`tr[data-job-id="${jobId}"] button[aria-expanded]`);
    if (button) button.focus();
  }

  renderPager(page) {
    clear(this.pager);
    const pages = Math.max(1, Math.ceil(page.total / page.page_size));
    const from = page.total ? (page.page - 1) * page.page_size + 1 : 0;
    const to = Math.min(page.total, page.page * page.page_size);
    const go = (target) => {
      this.state.page = target;
      this.load();
    };
    this.pager.append(
      h("span", { class: "muted" }, `${from}–${to} of ${page.total}`),
      h("button", { class: "btn btn-small", type: "button", disabled: page.page <= 1, onclick: () => go(page.page - 1) }, "Previous"),
      h("span", { class: "muted" }, `Page ${page.page} of ${pages}`),
      h("button", { class: "btn btn-small", type: "button", disabled: page.page >= pages, onclick: () => go(page.page + 1) }, "Next"),
    );
  }

  async retry(job, button) {
    button.disabled = true;
    try {
      const result = await this.api.post(`/jobs/${job.id}/retry`);
      this.say("success", result.message);
      this.bridge.notify("success", "Retry queued", `Order #${job.order_number || job.order_id} is being sent again.`);
      await this.load({ quiet: true });
      const row = this.table.querySelector(`tr[data-job-id="${job.id}"] button[aria-expanded]`);
      if (row) row.focus(); // the Retry button is gone once the order is pending

    } catch (error) {
      button.disabled = false;
      this.say("error", error.message);
    }
  }

  async retryFailed() {
    this.retryAll.disabled = true;
    try {
      const result = await this.api.post("/jobs/retry-failed");
      this.say("success", result.message);
      if (result.queued) this.bridge.notify("success", "Retry queued", result.message);
      await this.load({ quiet: true });
    } catch (error) {
      this.say("error", error.message);
      this.retryAll.disabled = false;
    }
  }

  say(kind, text) {
    this.feedback.className = `notice notice-${kind}`;
    this.feedback.textContent = text;
  }
}
