// What every page of the app does first: join App Bridge, follow the Dashboard's language and
// theme, wait for the Dashboard token, or explain how to open the page from the Dashboard when it
// is opened anywhere else.
//
// A page is `{title, view(ctx), start(ctx)}`: `view` renders the page from its state (lit-html
// templates), `start` loads data once the token is there. `ctx.update()` re-renders after any
// change of state; a language switch (localeChanged) re-renders in the new language, live.

import { Api } from "./api.js";
import { AppBridge } from "./bridge.js";
import { browserLocale, I18n } from "./i18n.js";
import { notice } from "./ui.js";
import { html, render } from "./vendor/lit-html/lit-html.js";

const HANDSHAKE_PATIENCE_MS = 8000;

export async function boot(page) {
  const root = document.getElementById("root");
  root.replaceChildren(); // the shell's "Loading…" (lit-html renders after what is there)
  const bridge = new AppBridge();
  bridge.applyTheme(bridge.theme);
  const i18n = await I18n.create();
  let scheduled = false;
  let waiting = [];
  const ctx = {
    i18n,
    bridge,
    api: new Api(bridge),
    t: (key, params) => i18n.t(key, params),
    shell: "waiting", // waiting | outside | unknown-origin | no-handshake | ready
    update() {
      if (scheduled) return;
      scheduled = true;
      queueMicrotask(() => {
        scheduled = false;
        document.title = i18n.t(page.title);
        render(ctx.shell === "ready" ? page.view(ctx) : shellView(ctx), root);
        const done = waiting;
        waiting = [];
        for (const resolve of done) resolve();
      });
    },
    /** Resolves once the next render is in the page (to move the focus into what it drew). */
    rendered() {
      ctx.update();
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
  const switchTo = async (locale) => {
    if (await i18n.setLocale(locale)) ctx.update();
  };

  if (!bridge.embedded || !bridge.saleorApiUrl || !bridge.originKnown) {
    // No Dashboard will send a language: the browser's own is the best guess.
    ctx.shell = !bridge.embedded || !bridge.saleorApiUrl ? "outside" : "unknown-origin";
    await switchTo(browserLocale());
    ctx.update();
    return;
  }
  bridge.on("locale", switchTo);
  ctx.update();
  const late = setTimeout(() => {
    ctx.shell = "no-handshake";
    ctx.update();
  }, HANDSHAKE_PATIENCE_MS);
  await bridge.start();
  clearTimeout(late);
  if (bridge.locale) await switchTo(bridge.locale);
  ctx.shell = "ready";
  ctx.update();
  await page.start(ctx);
}

function shellView(ctx) {
  const { t } = ctx;
  switch (ctx.shell) {
    case "outside":
    case "unknown-origin":
      return html`<section class="card outside" aria-labelledby="outside-title">
        <h1 id="outside-title">${t("outside.title")}</h1>
        ${ctx.shell === "unknown-origin" ? html`<p>${t("outside.unknown_origin")}</p>` : null}
        <p>${t("outside.how")}</p>
        <p class="muted">${t("outside.install")} <code>${location.origin}/api/manifest</code></p>
      </section>`;
    case "no-handshake":
      return notice("warning", t("outside.no_handshake"), { role: "alert" });
    default:
      return html`<p class="spinner" role="status">${t("common.loading")}</p>`;
  }
}
