// What every page of the app does first: join App Bridge, wait for the Dashboard token, or
// explain how to open the page from the Dashboard when it is opened anywhere else.

import { Api } from "./api.js";
import { AppBridge } from "./bridge.js";
import { clear, h } from "./dom.js";

const HANDSHAKE_PATIENCE_MS = 8000;

export async function boot(render) {
  const bridge = new AppBridge();
  const root = document.getElementById("root");
  if (!bridge.embedded || !bridge.saleorApiUrl) {
    bridge.applyTheme(bridge.theme);
    showOutside(root);
    return;
  }
  const late = setTimeout(() => showNoHandshake(root), HANDSHAKE_PATIENCE_MS);
  await bridge.start();
  clearTimeout(late);
  const api = new Api(bridge);
  clear(root);
  await render({ bridge, api, root });
}

function showOutside(root) {
  clear(root).append(
    h(
      "section",
      { class: "card outside", "aria-labelledby": "outside-title" },
      h("h1", { id: "outside-title" }, "Open this page from the Saleor Dashboard"),
      h(
        "p",
        {},
        "This is the Gordon Delivery app's page. It works inside your shop's Saleor Dashboard, " +
          "which signs you in: open the Dashboard, then Apps (Extensions) → Installed → Gordon Delivery.",
      ),
      h(
        "p",
        { class: "muted" },
        "Not installed yet? In the Dashboard choose Install external app and paste this app's manifest URL: ",
        h("code", {}, `${location.origin}/api/manifest`),
        ".",
      ),
    ),
  );
}

function showNoHandshake(root) {
  clear(root).append(
    h(
      "div",
      { class: "notice notice-warning", role: "alert" },
      "The Saleor Dashboard has not signed this page in yet. Reload the page; if this stays, open the " +
        "app again from Apps → Gordon Delivery.",
    ),
  );
}

/** A refusal or failure of the API as a notice a person can act on. */
export function errorNotice(error, what = "The page could not be loaded") {
  return h(
    "div",
    { class: "notice notice-error", role: "alert" },
    h("strong", {}, `${what}. `),
    (error && error.message) || "Unknown error.",
  );
}
