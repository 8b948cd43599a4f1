// The app's page in the Dashboard (the manifest's appUrl): the Orders and Configuration screens
// under a header with the shop's name. Each screen keeps its own state while the other is shown.

import { boot } from "./boot.js";
import { configScreen, configView } from "./config-form.js";
import { ordersScreen, ordersView } from "./orders.js";
import { errorNotice, notice } from "./ui.js";
import { html, nothing } from "./vendor/lit-html/lit-html.js";

const TABS = [
  { id: "orders", label: "tab.orders" },
  { id: "configuration", label: "tab.configuration" },
];

const page = {
  title: "app.title",
  state: "loading", // loading | ready | error
  error: null,
  tab: null,
  shopName: null,
  screens: {},

  async start(ctx) {
    try {
      [ctx.session, ctx.knowledge] = await Promise.all([ctx.api.get("/session"), ctx.api.get("/knowledge")]);
    } catch (error) {
      page.state = "error";
      page.error = error;
      ctx.update();
      return;
    }
    ctx.i18n.setTimeZone(ctx.session.timezone);
    page.screens = { orders: ordersScreen(ctx), configuration: configScreen(ctx) };
    page.state = "ready";
    show(ctx, ctx.session.configured ? "orders" : "configuration");
    ctx.api.get("/shop").then(
      (shop) => {
        page.shopName = shop.name;
        ctx.update();
      },
      () => {}, // the header keeps the shop's address
    );
  },

  view(ctx) {
    const { t } = ctx;
    if (page.state === "loading") return html`<p class="spinner" role="status">${t("common.loading")}</p>`;
    if (page.state === "error") return errorNotice(ctx, page.error, "app.open_failed");
    const shop = page.shopName || new URL(ctx.session.saleor_api_url).host;
    return html`<div class="page">
      <header class="page-header">
        <div class="titles"><h1>Gordon Delivery</h1><span class="shop">${shop}</span></div>
        <span class="spacer"></span>
        <div class="tabs" role="tablist" aria-label="Gordon Delivery" @keydown=${(event) => keyOnTabs(ctx, event)}>
          ${TABS.map(
            (tab) => html`<button class="tab" type="button" role="tab" id="tab-${tab.id}" aria-controls="panel"
              aria-selected=${String(page.tab === tab.id)} tabindex=${page.tab === tab.id ? "0" : "-1"}
              @click=${() => show(ctx, tab.id)}>${t(tab.label)}</button>`,
          )}
        </div>
      </header>
      ${ctx.session.token_revoked ? notice("error", t("app.token_revoked"), { role: "alert" }) : nothing}
      <div id="panel" role="tabpanel" tabindex="0" aria-labelledby="tab-${page.tab}">
        ${page.tab === "orders" ? ordersView(ctx, page.screens.orders) : configView(ctx, page.screens.configuration)}
      </div>
    </div>`;
  },
};

function show(ctx, id) {
  if (page.tab && page.tab !== id) page.screens[page.tab].stop();
  page.tab = id;
  page.screens[id].start();
  ctx.update();
}

function keyOnTabs(ctx, event) {
  const index = TABS.findIndex((tab) => tab.id === page.tab);
  const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: TABS.length - 1 }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  const tab = TABS[(next + TABS.length) % TABS.length];
  show(ctx, tab.id);
  ctx.rendered().then(() => document.getElementById(`tab-${tab.id}`)?.focus());
}

boot(page);
