// The app's page in the Dashboard (the manifest's appUrl): Overview and Configuration tabs.

import { boot, errorNotice } from "./boot.js";
import { renderConfig } from "./config-form.js";
import { clear, h } from "./dom.js";
import { renderOverview } from "./overview.js";

boot(async ({ api, bridge, root }) => {
  let session;
  try {
    session = await api.get("/session");
  } catch (error) {
    root.append(errorNotice(error, "Gordon Delivery could not open"));
    return;
  }
  const panel = h("div", { id: "panel", role: "tabpanel", tabindex: "0" });
  const tabs = [
    { id: "overview", label: "Orders" },
    { id: "configuration", label: "Configuration" },
  ];
  const buttons = tabs.map((tab) =>
    h(
      "button",
      { class: "tab", type: "button", role: "tab", id: `tab-${tab.id}`, "aria-controls": "panel", onclick: () => show(tab.id) },
      tab.label,
    ),
  );
  const tablist = h("div", { class: "tabs", role: "tablist", "aria-label": "Gordon Delivery" }, buttons);
  tablist.addEventListener("keydown", (event) => {
    const index = buttons.indexOf(document.activeElement);
    if (index < 0) return;
    let next = null;
    if (event.key === "ArrowRight") next = (index + 1) % buttons.length;
    if (event.key === "ArrowLeft") next = (index - 1 + buttons.length) % buttons.length;
    if (event.key === "Home") next = 0;
    if (event.key === "End") next = buttons.length - 1;
    if (next === null) return;
    event.preventDefault();
    buttons[next].focus();
    show(tabs[next].id);
  });
  const banners = [];
  if (session.token_revoked) {
    banners.push(
      h(
        "div",
        { class: "notice notice-error", role: "alert" },
        "Saleor no longer accepts this app's token, so orders are not being sent. Reinstall the app in the Dashboard.",
      ),
    );
  }
  root.append(
    h(
      "div",
      { class: "page" },
      h(
        "header",
        { class: "page-header" },
        h("h1", {}, "Gordon Delivery"),
        h("span", { class: "shop" }, session.saleor_api_url),
        h("span", { class: "spacer" }),
        tablist,
      ),
      banners,
      panel,
    ),
  );
  let overview = null;
  function show(id) {
    for (const [index, tab] of tabs.entries()) {
      const selected = tab.id === id;
      buttons[index].setAttribute("aria-selected", String(selected));
      buttons[index].tabIndex = selected ? 0 : -1;
    }
    panel.setAttribute("aria-labelledby", `tab-${id}`);
    if (overview) overview.stop();
    overview = null;
    clear(panel);
    if (id === "overview") overview = renderOverview({ api, bridge, root: panel });
    else renderConfig({ api, bridge, root: panel, session, onSaved: () => (session.configured = true) });
  }
  show(session.configured ? "overview" : "configuration");
});
