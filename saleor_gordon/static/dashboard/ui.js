// Small view pieces shared by the screens (lit-html templates; every text is bound as text).

import { html, nothing } from "./vendor/lit-html/lit-html.js";

/** A notice box: "info" | "success" | "warning" | "error". */
export function notice(kind, content, { role = null, id = null } = {}) {
  return html`<div class="notice notice-${kind}" role=${role || nothing} id=${id || nothing}>${content}</div>`;
}

/** A refusal or failure of the API as a notice a person can act on, in their language. */
export function errorNotice(ctx, error, whatKey) {
  const text = error && error.entry ? ctx.i18n.say(error.entry) : ctx.t("error.NETWORK");
  return notice("error", html`<strong>${ctx.t(whatKey)}</strong> ${text}`, { role: "alert" });
}

/** A status pill: colour and word, so colour is never the only signal. */
export function statusPill(ctx, status) {
  return html`<span class="pill pill-${status}">${ctx.t(`status.${status}`)}</span>`;
}

/** "3 min ago" with the exact time (shop's time zone) on hover and for screen readers. */
export function timeAgo(ctx, iso, { prefixKey = null } = {}) {
  if (!iso) return html`<span class="muted">—</span>`;
  const exact = ctx.i18n.dateTime(iso);
  const relative = ctx.i18n.relative(iso);
  const shown = prefixKey ? ctx.t(prefixKey, { when: relative }) : relative;
  return html`<time datetime=${iso} title=${exact}><span aria-hidden="true">${shown}</span><span class="visually-hidden">${prefixKey ? ctx.t(prefixKey, { when: exact }) : exact}</span></time>`;
}

/** An entry's exact time (i18n.exactTime: to the second, its date when not today), with how
 * long ago and the full date and time zone on hover: for lists whose entries may be seconds
 * apart (an order's history), where "now, now, now" says nothing. */
export function exactTime(ctx, iso) {
  const title = `${ctx.i18n.relative(iso)} · ${ctx.i18n.dateTime(iso, { seconds: true })}`;
  return html`<time datetime=${iso} title=${title}>${ctx.i18n.exactTime(iso)}</time>`;
}

/** An em dash for "nothing here", muted. */
export const none = html`<span class="muted">—</span>`;

/**
 * A message the server wrote: worded from the catalogue when it is a known code, else its English
 * text as stored (job history written before messages were codes), marked lang="en" so that a
 * screen reader reads it as English inside a page in another language.
 */
export function serverText(ctx, entry) {
  if (!entry) return nothing;
  if (typeof entry === "object" && entry.code && ctx.i18n.has(entry.code)) return ctx.i18n.say(entry);
  const text = typeof entry === "string" ? entry : entry.message || entry.text || "";
  return text ? html`<span class="stored-message" lang="en">${text}</span>` : nothing;
}
