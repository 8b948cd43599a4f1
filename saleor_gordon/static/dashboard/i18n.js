// The pages' words and formats in the staff user's language.
//
// Catalogues: ./i18n/<locale>.json, one per locale, key -> message. A message is a string with
// {name} placeholders, or, when it depends on a number, an object of CLDR plural forms
// ({"one": "...", "other": "..."}) chosen by Intl.PluralRules for params.count, or for the
// parameter the object names as "count" ({"count": "attempts", "one": ..., "other": ...}: a stored
// message keeps the parameters it was written with). Keys that the
// server sends as codes (configuration problems, Test connection results, API refusals) are the
// codes themselves; tests/browser/test_catalogues.py checks that every locale has every key with
// the same placeholders and that every key is used.
//
// Messages from the server: {code, params, message}. With a code the catalogue knows, the page
// words it; otherwise it shows the English `message` the server wrote (older stored history, a
// newer server). `say(entry)` does both, so stored text written before codes existed still shows.
// A parameter may itself be a message (worded the same way), a list (the order's problems: each
// a message), an instant (`retry_at`, `expired_at`: shown in the shop's time zone), a calendar
// date (`date`, `today`), a duration in hours (`hours`: "30 minutes" below an hour), a country
// code (`country`: its name), or order events (`events`: "paid or confirmed"); text from Gordon
// or Saleor (`gordon_message`, `detail`) and what older versions stored in English are shown as
// they are.
//
// Dates and times: Intl in the locale and the shop's time zone.

export const LOCALES = ["en", "sv", "nb", "da"];
/** Message parameters that are instants, and lists of sentences (joined as they are). */
const INSTANTS = new Set(["retry_at", "expired_at"]);
const DATES = new Set(["date", "today"]);
const SENTENCES = new Set(["problems", "warnings"]);
const FALLBACK = "en";
const VERSION = new URL(import.meta.url).searchParams.get("v") || "";

const loaded = new Map(); // locale -> Promise<catalogue>

function fetchCatalogue(locale) {
  if (!loaded.has(locale)) {
    const url = new URL(`./i18n/${locale}.json`, import.meta.url);
    if (VERSION) url.searchParams.set("v", VERSION);
    loaded.set(
      locale,
      fetch(url, { credentials: "omit" }).then((response) => {
        if (!response.ok) throw new Error(`catalogue ${locale}: HTTP ${response.status}`);
        return response.json();
      }),
    );
  }
  return loaded.get(locale);
}

/** The supported locale for a Dashboard or browser language tag ("sv", "nb", "no-NO", "da-DK"...). */
export function resolveLocale(tag) {
  const language = String(tag || "").toLowerCase().split(/[-_]/)[0];
  if (language === "no" || language === "nn") return "nb";
  return LOCALES.includes(language) ? language : FALLBACK;
}

/** The browser's preferred supported locale (for pages opened outside the Dashboard). */
export function browserLocale() {
  for (const tag of navigator.languages || [navigator.language]) {
    const locale = resolveLocale(tag);
    if (locale !== FALLBACK || String(tag).toLowerCase().startsWith("en")) return locale;
  }
  return FALLBACK;
}

function isMessage(value) {
  return Boolean(value) && typeof value === "object" && !Array.isArray(value) && typeof value.message === "string";
}

export class I18n {
  constructor() {
    this.locale = FALLBACK;
    this._wanted = FALLBACK;
    this.catalogue = {};
    this.english = {};
    this.timeZone = "UTC";
    this._formats = new Map();
  }

  static async create() {
    const i18n = new I18n();
    i18n.english = await fetchCatalogue(FALLBACK);
    i18n.catalogue = i18n.english;
    i18n.timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    return i18n;
  }

  /** Switch to `tag`'s locale (English for one this app does not speak); true when it changed. */
  async setLocale(tag) {
    const locale = resolveLocale(tag);
    this._wanted = locale;
    if (locale === this.locale) return false;
    const catalogue = await fetchCatalogue(locale);
    if (this._wanted !== locale) return false; // switched again meanwhile: the last one wins
    this.locale = locale;
    this.catalogue = catalogue;
    this._formats.clear();
    document.documentElement.lang = locale;
    return true;
  }

  setTimeZone(timeZone) {
    if (!timeZone || timeZone === this.timeZone) return;
    try {
      new Intl.DateTimeFormat("en", { timeZone });
    } catch {
      return; // a zone this browser does not know: keep the one we have
    }
    this.timeZone = timeZone;
    this._formats.clear();
  }

  has(key) {
    return Object.hasOwn(this.catalogue, key);
  }

  /** The message `key` with `params` put in. */
  t(key, params = {}) {
    let message = this.has(key) ? this.catalogue[key] : this.english[key];
    if (message === undefined) return key;
    if (typeof message === "object") {
      const counted = params[message.count ?? "count"];
      const form = this._format("plural", () => new Intl.PluralRules(this.locale)).select(Number(counted));
      message = message[form] ?? message.other;
    }
    return message.replace(/\{(\w+)\}/g, (_, name) => this.param(params[name]));
  }

  /** A parameter as text: numbers and lists in the locale's way. */
  param(value) {
    if (value === undefined || value === null) return "";
    if (typeof value === "number") return this.number(value);
    if (Array.isArray(value)) return this.list(value.map((item) => this.param(item)));
    return String(value);
  }

  /** A server message {code, params, message}: worded from the catalogue, or its English text. */
  say(entry) {
    if (!entry) return "";
    if (typeof entry === "string") return entry;
    if (entry.code && this.has(entry.code)) return this.t(entry.code, this.wordParams(entry.params || {}));
    return entry.message || entry.text || "";
  }

  /** Parameters that are themselves codes (a status, permissions, messages) in words. */
  wordParams(params) {
    const worded = { ...params };
    for (const [name, value] of Object.entries(worded)) {
      if (isMessage(value)) worded[name] = this.say(value);
      else if (SENTENCES.has(name) && Array.isArray(value)) worded[name] = value.map((item) => this.say(item)).join(" ");
      else if (INSTANTS.has(name) && typeof value === "string") worded[name] = this.dateTime(value);
      else if (DATES.has(name) && typeof value === "string") worded[name] = this.date(value, "long");
    }
    if (typeof worded.hours === "number") worded.hours = this.duration(worded.hours * 3600);
    if ("country" in worded) worded.country = worded.country ? this.region(worded.country) : this.t("country.unknown");
    if (Array.isArray(worded.events)) worded.events = this.list(worded.events.map((event) => this.t(`trigger.${event}`)), "disjunction");
    if (typeof worded.status === "string") worded.status = this.t(`status.${worded.status}`);
    if (Array.isArray(worded.permissions)) {
      worded.permissions = this.list(worded.permissions.map((p) => this.t(`permission.${p}`)));
    }
    return worded;
  }

  number(value) {
    return this._format("number", () => new Intl.NumberFormat(this.locale)).format(value);
  }

  /** A length of time in the locale's words, in the largest unit it reaches, one decimal at
   * most: "45 seconds", "1.7 minutes", "30 minutes", "1.5 hours" (hours from one hour on: a
   * retry budget reads "48 hours"), as the server's English does (core/retry.py). */
  duration(seconds) {
    let [value, unit] = [seconds / 3600, "hour"];
    if (seconds < 59.95) [value, unit] = [seconds, "second"];
    else if (seconds < 3597) [value, unit] = [seconds / 60, "minute"];
    return this._format(`duration-${unit}`, () =>
      new Intl.NumberFormat(this.locale, { style: "unit", unit, unitDisplay: "long", maximumFractionDigits: 1 }),
    ).format(value);
  }

  /** Items as a list in the locale: "a, b and c" (or "a, b or c" for a "disjunction"). */
  list(items, type = "conjunction") {
    return this._format(`list-${type}`, () => new Intl.ListFormat(this.locale, { type })).format(items);
  }

  /** "2026-12-02" -> "onsdag 2 december 2026" (a calendar date: no time zone shift). */
  date(isoDate, style = "full") {
    const [year, month, day] = String(isoDate).split("-").map(Number);
    if (!year || !month || !day) return String(isoDate);
    const moment = new Date(Date.UTC(year, month - 1, day, 12));
    return this._format(`date-${style}`, () => new Intl.DateTimeFormat(this.locale, { dateStyle: style, timeZone: "UTC" })).format(moment);
  }

  /** An instant in the shop's time zone: "5 dec. 2026 19:08 CET" ("5 dec. 2026 19:08:42 CET" with
   * `seconds`). */
  dateTime(iso, { seconds = false } = {}) {
    const moment = new Date(iso);
    if (Number.isNaN(moment.getTime())) return String(iso);
    return this._format(
      seconds ? "datetime-seconds" : "datetime",
      () =>
        new Intl.DateTimeFormat(this.locale, {
          dateStyle: "medium",
          timeStyle: seconds ? "medium" : "short",
          timeZone: this.timeZone,
        }),
    ).format(moment) + ` ${this.zoneName(moment)}`;
  }

  /** An instant to the second in the shop's time zone, as short as its day allows beside `now`:
   * "14:05:07" on the same day, "26 mars 14:05:07" on another day of the same year, "26 mars 2025
   * 14:05:07" before (en: "2:05:07 PM", "Mar 26, 2:05:07 PM"). The zone is not in it: `dateTime`
   * says it. The hour is written as the locale's own time of day writes it ("09:05:07", "9:05:07
   * AM"). */
  exactTime(iso, now = Date.now()) {
    const moment = new Date(iso);
    if (Number.isNaN(moment.getTime())) return String(iso);
    const day = this._format(
      "day",
      () => new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: this.timeZone }),
    );
    const [then, today] = [day.format(moment), day.format(new Date(now))]; // "2026-03-26"
    const shown = then === today ? "time" : then.slice(0, 4) === today.slice(0, 4) ? "date" : "year";
    return this._format(`exact-${shown}`, () => {
      const nine = new Intl.DateTimeFormat(this.locale, { timeStyle: "medium", timeZone: "UTC" }).formatToParts(new Date(Date.UTC(2024, 0, 1, 9)));
      const hour = (nine.find((part) => part.type === "hour") || {}).value === "09" ? "2-digit" : "numeric";
      const options = { hour, minute: "2-digit", second: "2-digit", timeZone: this.timeZone };
      if (shown !== "time") Object.assign(options, { month: "short", day: "numeric" });
      if (shown === "year") options.year = "numeric";
      return new Intl.DateTimeFormat(this.locale, options);
    }).format(moment);
  }

  /** The weekday and time of an instant in `timeZone` (default: the shop's): "fredag 14:05". */
  weekdayTime(iso, timeZone = this.timeZone) {
    const moment = new Date(iso);
    return new Intl.DateTimeFormat(this.locale, { weekday: "long", hour: "2-digit", minute: "2-digit", timeZone }).format(moment);
  }

  zoneName(moment, timeZone = this.timeZone) {
    const parts = new Intl.DateTimeFormat(this.locale, { timeZone, timeZoneName: "short" }).formatToParts(moment);
    return (parts.find((part) => part.type === "timeZoneName") || {}).value || timeZone;
  }

  /** "3 min ago" / "in 5 min" relative to `now`. */
  relative(iso, now = Date.now()) {
    const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
    const format = this._format("relative", () => new Intl.RelativeTimeFormat(this.locale, { numeric: "auto", style: "short" }));
    const size = Math.abs(seconds);
    if (seconds >= 5 && seconds < 45) return format.format(seconds, "second"); // the next attempt, soon
    if (size < 45) return format.format(0, "second");
    if (size < 3600) return format.format(Math.round(seconds / 60), "minute");
    if (size < 86400) return format.format(Math.round(seconds / 3600), "hour");
    return format.format(Math.round(seconds / 86400), "day");
  }

  /** Weekday 1 (Monday) .. 7 (Sunday) by name. */
  weekday(isoDay) {
    const monday = new Date(Date.UTC(2024, 0, 1, 12)); // a Monday
    const day = new Date(monday.getTime() + (isoDay - 1) * 86400000);
    return this._format("weekday", () => new Intl.DateTimeFormat(this.locale, { weekday: "long", timeZone: "UTC" })).format(day);
  }

  /** A country by ISO 3166 code, in the locale: "SE" -> "Sverige". */
  region(code) {
    try {
      return this._format("region", () => new Intl.DisplayNames([this.locale], { type: "region" })).of(code) || code;
    } catch {
      return code;
    }
  }

  _format(name, make) {
    if (!this._formats.has(name)) this._formats.set(name, make());
    return this._formats.get(name);
  }
}
