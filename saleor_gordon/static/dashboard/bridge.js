// App Bridge: the postMessage protocol between the Saleor Dashboard and this app's frames.
//
// Dashboard -> app events (protocol §4.2, dashboard-samples README §3-4): `handshake {token, version,
// saleorVersion, dashboardVersion}` (on iframe load and again after notifyReady), `tokenRefresh
// {token}` (at any time), `theme {theme}`, `localeChanged {locale}`, `redirect {path}` (the
// Dashboard's own location, not an instruction), `response {actionId, ok}`.
// App -> Dashboard actions, each with a fresh `actionId`: `notifyReady`, `notification`,
// `redirect`, `widgetResize`, `popupClose`, and, where the Dashboard handles them (its version
// from the handshake, `supports()`), `refreshEntity` (3.23.9: the page around the frame reloads
// its order) and `openPopup {extensionIdentifier, appParams}` (3.23.19: a widget opens one of the
// app's POPUP extensions; `appParams` is base64 of UTF-8 JSON, as @saleor/app-sdk's
// OpenPopupParams writes it, and reaches the popup as its `?appParams=`). A Dashboard that does
// not know an action never answers it. A `response` whose actionId we did not send belongs to
// another frame of this app (the Dashboard routes by origin only) and is ignored.
//
// The Dashboard's origin is the origin of `document.referrer` (the recorded Dashboard sends its
// origin as the referrer; @saleor/app-sdk reads it the same way). Without it the bridge stays
// silent: it posts nothing (never to "*", where any page framing this one would read the messages)
// and accepts nothing; `originKnown` is false and the page says how to open it from the Dashboard.

const ACTION_TIMEOUT_MS = 10_000;

function newActionId() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return `a-${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

/** The first Dashboard version that handles each optional action (its AppFrame/useAppActions.ts). */
const SINCE = {
  refreshEntity: [3, 23, 9],
  openPopup: [3, 23, 19],
};
/** @saleor/app-sdk's OpenPopupParams.maxParamsLength: the Dashboard refuses longer JSON. */
const MAX_APP_PARAMS_LENGTH = 2048;

/** [major, minor, patch] of "v3.23.27", "3.23.28" or "3.24.0-a.0"; null when it is no version. */
export function parseVersion(text) {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(String(text || "").trim());
  return match ? match.slice(1, 4).map(Number) : null;
}

function atLeast(version, minimum) {
  for (let i = 0; i < 3; i += 1) {
    if (version[i] !== minimum[i]) return version[i] > minimum[i];
  }
  return true;
}

/** openPopup's `appParams`: JSON as UTF-8 in base64 (OpenPopupParams.serialize). */
export function encodeAppParams(value) {
  const json = JSON.stringify(value);
  if (json.length > MAX_APP_PARAMS_LENGTH) throw new Error(`appParams too long: ${json.length}`);
  let binary = "";
  for (const byte of new TextEncoder().encode(json)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The popup's `?appParams=` back as an object; {} when absent or not ours. */
export function decodeAppParams(text) {
  if (!text) return {};
  try {
    const bytes = Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
    const value = JSON.parse(new TextDecoder().decode(bytes));
    return value && typeof value === "object" && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

function referrerOrigin() {
  try {
    return document.referrer ? new URL(document.referrer).origin : null;
  } catch {
    return null;
  }
}

export class AppBridge {
  constructor() {
    const params = new URLSearchParams(location.search);
    this.saleorApiUrl = params.get("saleorApiUrl") || "";
    this.appId = params.get("id") || "";
    // A popup opened by a widget's openPopup gets its order in appParams (the Dashboard adds no
    // orderId then); one opened from the order's menu gets orderId.
    this.appParams = decodeAppParams(params.get("appParams"));
    const paramOrder = typeof this.appParams.orderId === "string" ? this.appParams.orderId : "";
    this.orderId = params.get("orderId") || paramOrder;
    this.theme = params.get("theme") === "dark" ? "dark" : "light";
    this.token = null;
    this.locale = null; // the Dashboard's language, from its first localeChanged on
    this.dashboardVersion = null; // e.g. "v3.23.27", from the handshake
    this.saleorVersion = null; // e.g. "3.23.28"; widget handshakes carry ""
    this.dashboardPath = null; // e.g. "/dashboard/extensions/app/QXBwOjU%3D"
    this.dashboardOrigin = referrerOrigin();
    this.originKnown = this.dashboardOrigin !== null;
    this.embedded = window.parent !== window;
    this._pending = new Map(); // actionId -> {resolve, timer}
    this._tokenWaiters = [];
    this._listeners = { token: [], theme: [], locale: [] };
    window.addEventListener("message", (event) => this._receive(event));
  }

  /** Start talking to the Dashboard: announce readiness. Resolves with the first token. */
  start() {
    this.applyTheme(this.theme);
    if (!this.embedded || !this.originKnown) return Promise.reject(new Error("no Dashboard to talk to"));
    this.dispatch("notifyReady", {});
    return this.waitForToken();
  }

  waitForToken() {
    if (this.token) return Promise.resolve(this.token);
    return new Promise((resolve) => this._tokenWaiters.push(resolve));
  }

  on(kind, callback) {
    this._listeners[kind].push(callback);
  }

  /** Send an action; resolves with the Dashboard's `ok` (false after 10 s without an answer). */
  dispatch(type, payload) {
    if (!this.embedded || !this.originKnown) return Promise.resolve(false);
    const actionId = newActionId();
    const message = { type, payload: { ...payload, actionId } };
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this._pending.delete(actionId);
        resolve(false);
      }, ACTION_TIMEOUT_MS);
      this._pending.set(actionId, { resolve, timer });
      window.parent.postMessage(message, this.dashboardOrigin);
    });
  }

  notify(status, title, text) {
    return this.dispatch("notification", { status, title, text });
  }

  /** Navigate the Dashboard to one of its own paths, e.g. "/orders/<id>". */
  redirect(to) {
    return this.dispatch("redirect", { to, newContext: false });
  }

  resizeWidget(height) {
    return this.dispatch("widgetResize", { height: Math.ceil(height) });
  }

  closePopup() {
    return this.dispatch("popupClose", {});
  }

  /** Does the Dashboard around this frame handle `action` ("refreshEntity", "openPopup")? */
  supports(action) {
    const version = parseVersion(this.dashboardVersion);
    return version !== null && action in SINCE && atLeast(version, SINCE[action]);
  }

  /** Ask the Dashboard to reload the order (or other entity) its page shows; false if it cannot. */
  refreshEntity() {
    if (!this.supports("refreshEntity")) return Promise.resolve(false);
    return this.dispatch("refreshEntity", {});
  }

  /**
   * From a widget: open this app's POPUP extension `identifier` with `params` (JSON, reaching the
   * popup as appParams). Resolves with the Dashboard's answer: false when it cannot (an older
   * Dashboard, an extension installed without identifier, a token it is still refreshing).
   */
  openPopup(identifier, params) {
    if (!this.supports("openPopup")) return Promise.resolve(false);
    return this.dispatch("openPopup", { extensionIdentifier: identifier, appParams: encodeAppParams(params) });
  }

  /** The Dashboard's base path ("/dashboard"), from the path it reported, when known. */
  dashboardBase() {
    const path = this.dashboardPath || "";
    for (const marker of ["/extensions/", "/apps/", "/orders/"]) {
      const index = path.indexOf(marker);
      if (index >= 0) return path.slice(0, index);
    }
    return "/dashboard";
  }

  /** A URL of an order in the Dashboard, for display and middle-click; clicks use redirect(). */
  orderUrl(orderId) {
    const base = `${this.dashboardOrigin || ""}${this.dashboardBase()}`;
    return `${base}/orders/${encodeURIComponent(orderId)}`;
  }

  applyTheme(theme) {
    this.theme = theme === "dark" ? "dark" : "light";
    document.documentElement.dataset.theme = this.theme;
    document.documentElement.style.colorScheme = this.theme;
  }

  _receive(event) {
    if (event.source !== window.parent) return;
    if (!this.originKnown || event.origin !== this.dashboardOrigin) return;
    const data = event.data;
    if (!data || typeof data !== "object" || typeof data.type !== "string") return;
    const payload = data.payload && typeof data.payload === "object" ? data.payload : {};
    switch (data.type) {
      case "handshake":
        if (typeof payload.dashboardVersion === "string" && payload.dashboardVersion) {
          this.dashboardVersion = payload.dashboardVersion;
        }
        if (typeof payload.saleorVersion === "string" && payload.saleorVersion) {
          this.saleorVersion = payload.saleorVersion;
        }
        if (typeof payload.token === "string" && payload.token) this._setToken(payload.token);
        break;
      case "tokenRefresh":
        if (typeof payload.token === "string" && payload.token) this._setToken(payload.token);
        break;
      case "theme":
        this.applyTheme(payload.theme);
        for (const callback of this._listeners.theme) callback(this.theme);
        break;
      case "localeChanged":
        if (typeof payload.locale !== "string" || !payload.locale) break;
        this.locale = payload.locale;
        for (const callback of this._listeners.locale) callback(this.locale);
        break;
      case "redirect":
        if (typeof payload.path === "string") this.dashboardPath = payload.path;
        break;
      case "response": {
        const pending = this._pending.get(payload.actionId);
        if (!pending) return; // another frame's action
        clearTimeout(pending.timer);
        this._pending.delete(payload.actionId);
        pending.resolve(payload.ok === true);
        break;
      }
      default:
        break;
    }
  }

  _setToken(token) {
    const changed = token !== this.token;
    this.token = token;
    const waiters = this._tokenWaiters.splice(0);
    for (const resolve of waiters) resolve(token);
    if (changed) for (const callback of this._listeners.token) callback(token);
  }
}
