// The Configuration screen: Gordon account, when orders are sent, delivery-group rules, delivery
// days.
//
// The server validates (one validation path for the Dashboard and `saleor-gordon config set`);
// the screen keeps what is typed in one state object, sends the whole configuration, and shows
// each problem the server names beside its field, in the staff user's language. What a new
// configuration starts with, the environments, events, item types, time zones and countries come
// from the server's knowledge.

import { ApiError } from "./api.js";
import { errorNotice, notice } from "./ui.js";
import { html, nothing } from "./vendor/lit-html/lit-html.js";
import { live } from "./vendor/lit-html/directives/live.js";
import { repeat } from "./vendor/lit-html/directives/repeat.js";

const PREVIEW_DELAY_MS = 300;
// The server's MAX_EXTERNAL_REF_PREFIX_CHARS (core/shop_config.py): the reference with the longest
// order number fits what a job keeps. The form takes what the server accepts.
const PREFIX_MAX_LENGTH = 191;
let ruleKeys = 0;

export function configScreen(ctx) {
  return {
    state: "loading", // loading | ready | error
    error: null,
    stored: null, // ConfigOut: config (no secret), client_secret_set, config_version, problems
    options: null, // ShopOptionsOut
    form: null,
    problems: [], // the server's problems of the last save or test
    summary: null, // {error, whatKey?}: why the last save (or loading the saved configuration) failed
    test: null, // {state: "asking"} | {state: "done", result} | {state: "failed", error}
    preview: null, // {state: "ready", result} | {state: "failed", error}
    saving: false,
    saved: null, // "saved" | "failed" | "loaded"
    previewTimer: null,
    started: false,
    start() {
      if (this.started) return;
      this.started = true;
      load(ctx, this);
    },
    stop() {},
  };
}

async function load(ctx, screen) {
  try {
    const [stored, options] = await Promise.all([ctx.api.get("/config"), loadOptions(ctx)]);
    screen.stored = stored;
    screen.options = options;
    screen.form = formOf(stored.config, ctx.knowledge.defaults);
    screen.state = "ready";
    schedulePreview(ctx, screen, 0);
  } catch (error) {
    screen.state = "error";
    screen.error = error;
  }
  ctx.update();
}

async function loadOptions(ctx) {
  try {
    return await ctx.api.get("/shop-options");
  } catch (error) {
    if (error instanceof ApiError && error.status >= 500) {
      return { channels: [], warehouses: [], shipping_methods: null, failed: error };
    }
    throw error;
  }
}

/** The form's state from a stored configuration (or the server's defaults); the secret is never in it. */
function formOf(config, defaults) {
  const doc = config || defaults;
  const days = { ...defaults.delivery_days, ...(doc.delivery_days || {}) };
  const rules = doc.delivery_groups && doc.delivery_groups.length ? doc.delivery_groups : [{}];
  return {
    base_url: doc.gordon?.base_url || "",
    client_id: doc.gordon?.client_id || "",
    client_secret: "",
    trigger_events: [...(doc.trigger_events || defaults.trigger_events)],
    external_ref_prefix: doc.external_ref_prefix || "",
    default_item_type: doc.default_item_type || "",
    tracking_on_fulfillment: doc.tracking_on_fulfillment || defaults.tracking_on_fulfillment,
    notify_customer: doc.notify_customer ?? defaults.notify_customer,
    tracking_url: doc.tracking_url || "",
    rules: rules.map(ruleOf),
    default_time_window: doc.default_time_window || "",
    days: {
      timezone: days.timezone || "",
      cutoff: days.cutoff || "",
      weekdays: [...(days.weekdays || [])],
      lead_days: String(days.lead_days ?? ""),
      holiday_country: days.holiday_country || "",
    },
  };
}

function ruleOf(rule) {
  ruleKeys += 1;
  return {
    key: ruleKeys,
    channel: rule.channel || "",
    shipping_method: rule.shipping_method || "",
    warehouse: rule.warehouse || "",
    deliverygroup: rule.deliverygroup || "",
    time_window: rule.time_window || "",
  };
}

/** The configuration document the form stands for (only keys the server knows). */
function documentOf(form) {
  const text = (value) => value.trim() || null;
  return {
    gordon: { base_url: form.base_url.trim(), client_id: form.client_id.trim(), client_secret: form.client_secret.trim() },
    trigger_events: form.trigger_events,
    external_ref_prefix: form.external_ref_prefix.trim(),
    delivery_groups: form.rules.map((rule) => ({
      deliverygroup: rule.deliverygroup.trim(),
      channel: text(rule.channel),
      shipping_method: text(rule.shipping_method),
      warehouse: text(rule.warehouse),
      time_window: text(rule.time_window),
    })),
    default_time_window: text(form.default_time_window),
    delivery_days: daysOf(form),
    default_item_type: form.default_item_type || null,
    tracking_on_fulfillment: form.tracking_on_fulfillment,
    notify_customer: form.notify_customer,
    tracking_url: form.tracking_url.trim(),
  };
}

function daysOf(form) {
  const lead = form.days.lead_days.trim();
  return {
    timezone: form.days.timezone.trim(),
    cutoff: form.days.cutoff.trim(),
    weekdays: [...form.days.weekdays].sort(),
    lead_days: lead !== "" && !Number.isNaN(Number(lead)) ? Number(lead) : lead,
    holiday_country: form.days.holiday_country || null,
  };
}

/** The stored secret is used only for the account it was stored with (same URL and client ID). */
function secretState(screen) {
  const stored = screen.stored;
  if (!stored.client_secret_set) return "none";
  if (screen.form.client_secret.trim()) return "replacing";
  const gordon = stored.config?.gordon || {};
  const same = (a, b) => String(a || "").trim().replace(/\/$/, "") === String(b || "").trim().replace(/\/$/, "");
  return same(gordon.base_url, screen.form.base_url) && same(gordon.client_id, screen.form.client_id) ? "kept" : "not_reused";
}

// --- actions --------------------------------------------------------------------------------------

function edit(ctx, screen, change, { preview = false } = {}) {
  change(screen.form);
  screen.saved = null;
  if (preview) schedulePreview(ctx, screen);
  ctx.update();
}

function schedulePreview(ctx, screen, delay = PREVIEW_DELAY_MS) {
  clearTimeout(screen.previewTimer);
  screen.previewTimer = setTimeout(() => runPreview(ctx, screen), delay);
}

async function runPreview(ctx, screen) {
  try {
    const result = await ctx.api.post("/config/delivery-date-preview", { delivery_days: daysOf(screen.form) });
    screen.preview = { state: "ready", result };
    screen.problems = screen.problems.filter((p) => !p.path.startsWith("delivery_days."));
  } catch (error) {
    screen.preview = { state: "failed", error };
    if (error instanceof ApiError) {
      screen.problems = [...screen.problems.filter((p) => !p.path.startsWith("delivery_days.")), ...error.problems];
    }
  }
  ctx.update();
}

async function testConnection(ctx, screen) {
  screen.test = { state: "asking" };
  screen.problems = screen.problems.filter((p) => !p.path.startsWith("gordon."));
  ctx.update();
  try {
    const result = await ctx.api.post("/config/test-connection", { gordon: documentOf(screen.form).gordon });
    screen.test = { state: "done", result };
  } catch (error) {
    screen.test = { state: "failed", error };
    if (error instanceof ApiError) screen.problems = [...screen.problems, ...error.problems];
  }
  ctx.update();
}

/** Saves the form, based on the version of the configuration the page holds: when someone else
 * saved since, nothing is stored (409 CONFIG_CHANGED_ELSEWHERE) and the form stays as it is. */
async function save(ctx, screen) {
  screen.saving = true;
  screen.saved = null;
  screen.summary = null;
  screen.problems = [];
  ctx.update();
  try {
    const saved = await ctx.api.put("/config", { config: documentOf(screen.form), config_version: screen.stored.config_version });
    const stored = await ctx.api.get("/config");
    // the version is the one this save stored: a save in between is refused on the next save
    screen.stored = { ...stored, client_secret_set: saved.client_secret_set, config_version: saved.config_version };
    screen.form.client_secret = "";
    screen.saved = "saved";
    ctx.session.configured = true;
    ctx.bridge.notify("success", ctx.t("toast.saved_title"), ctx.t("toast.saved_text"));
  } catch (error) {
    screen.saved = "failed";
    screen.problems = error instanceof ApiError ? error.problems : [];
    screen.summary = { error };
    const text = error instanceof ApiError && error.problems.length
      ? ctx.t("config.problems_count", { count: error.problems.length })
      : ctx.i18n.say(error.entry || { message: error.message });
    ctx.bridge.notify("error", ctx.t("toast.not_saved_title"), text);
  } finally {
    screen.saving = false;
  }
  await ctx.rendered();
  if (screen.saved === "failed") {
    (document.querySelector('#panel [aria-invalid="true"]') || document.getElementById("config-summary"))?.focus();
  }
}

/** After a refused save: the saved configuration replaces the form (the person's changes are
 * discarded, as the button says). */
async function loadSaved(ctx, screen) {
  screen.saving = true;
  ctx.update();
  try {
    const stored = await ctx.api.get("/config");
    screen.stored = stored;
    screen.form = formOf(stored.config, ctx.knowledge.defaults);
    screen.summary = null;
    screen.problems = [];
    screen.test = null;
    screen.saved = "loaded";
    schedulePreview(ctx, screen, 0);
  } catch (error) {
    screen.summary = { error, whatKey: "config.load_failed" };
  } finally {
    screen.saving = false;
  }
  ctx.update();
  await ctx.rendered();
  document.getElementById("config-summary")?.focus();
}

/** After a refused save: the person's changes are saved over the configuration stored now,
 * based on its version (a save in between is refused again). */
async function saveAnyway(ctx, screen) {
  screen.saving = true;
  ctx.update();
  try {
    screen.stored = await ctx.api.get("/config");
  } catch (error) {
    screen.saving = false;
    screen.summary = { error };
    ctx.update();
    return;
  }
  await save(ctx, screen);
}

function addRule(ctx, screen) {
  const rule = ruleOf({});
  edit(ctx, screen, (form) => form.rules.push(rule));
  ctx.rendered().then(() => document.querySelector(`[data-rule-key="${rule.key}"] select, [data-rule-key="${rule.key}"] input`)?.focus());
}

function moveRule(ctx, screen, index, delta) {
  const rule = screen.form.rules[index];
  edit(ctx, screen, (form) => {
    form.rules.splice(index, 1);
    form.rules.splice(index + delta, 0, rule);
  });
  const direction = delta < 0 ? "up" : "down";
  ctx.rendered().then(() => {
    const row = document.querySelector(`[data-rule-key="${rule.key}"]`);
    const button = row?.querySelector(`[data-move="${direction}"]:not(:disabled)`) || row?.querySelector("button:not(:disabled)");
    button?.focus();
  });
}

function removeRule(ctx, screen, index) {
  edit(ctx, screen, (form) => form.rules.splice(index, 1));
  const next = screen.form.rules[Math.min(index, screen.form.rules.length - 1)];
  if (next) ctx.rendered().then(() => document.querySelector(`[data-rule-key="${next.key}"] select, [data-rule-key="${next.key}"] input`)?.focus());
}

// --- view -----------------------------------------------------------------------------------------

export function configView(ctx, screen) {
  const { t } = ctx;
  if (screen.state === "loading") return html`<p class="spinner" role="status">${t("config.loading")}</p>`;
  if (screen.state === "error") return errorNotice(ctx, screen.error, "config.load_failed");
  const readOnly = !ctx.session.can_configure;
  return html`<form novalidate aria-label=${t("config.form_label")} @submit=${(event) => {
      event.preventDefault();
      save(ctx, screen);
    }}>
    ${readOnly ? notice("info", t("config.read_only"), { role: "note" }) : nothing}
    ${screen.stored.problems.length
      ? notice("warning", html`${t("config.stored_invalid")}${problemList(ctx, screen.stored.problems)}`, { role: "alert" })
      : nothing}
    ${!screen.stored.config && screen.saved !== "saved"
      ? notice("info", html`<strong>${t("config.welcome_title")}</strong> ${t("config.welcome")}`, { role: "note" })
      : nothing}
    ${summaryView(ctx, screen)}
    <fieldset class="plain" ?disabled=${readOnly}>
      ${gordonCard(ctx, screen)} ${triggerCard(ctx, screen)} ${rulesCard(ctx, screen)} ${daysCard(ctx, screen)}
      ${trackingCard(ctx, screen)}
    </fieldset>
    <div class="save-bar">
      <span class="status" role="status" aria-live="polite">${saveStatus(ctx, screen)}</span>
      <button class="btn btn-primary" type="submit" ?disabled=${readOnly || screen.saving}>${t("config.save")}</button>
    </div>
  </form>`;
}

function saveStatus(ctx, screen) {
  if (screen.saving) return ctx.t("config.saving");
  if (screen.saved === "saved") return ctx.t("config.saved");
  if (screen.saved === "failed") return ctx.t("config.not_saved");
  if (screen.saved === "loaded") return ctx.t("config.loaded_saved");
  return "";
}

function summaryView(ctx, screen) {
  const summary = screen.summary;
  if (!summary) return html`<div id="config-summary" tabindex="-1"></div>`;
  const error = summary.error;
  if (error instanceof ApiError && error.code === "CONFIG_CHANGED_ELSEWHERE") {
    return html`<div id="config-summary" tabindex="-1" class="notice notice-error" role="alert">
      <strong>${ctx.t("config.changed_elsewhere_title")}</strong> ${ctx.t("config.changed_elsewhere")}
      <div class="actions spaced">
        <button class="btn" type="button" ?disabled=${screen.saving} @click=${() => loadSaved(ctx, screen)}>${ctx.t("config.load_saved")}</button>
        <button class="btn" type="button" ?disabled=${screen.saving} @click=${() => saveAnyway(ctx, screen)}>${ctx.t("config.save_anyway")}</button>
      </div>
    </div>`;
  }
  if (!(error instanceof ApiError) || !error.problems.length) {
    return html`<div id="config-summary" tabindex="-1">${errorNotice(ctx, error, summary.whatKey || "config.save_failed")}</div>`;
  }
  return html`<div id="config-summary" tabindex="-1" class="notice notice-error" role="alert">
    <strong>${ctx.t("config.nothing_saved", { count: error.problems.length })}</strong>
    ${problemList(ctx, error.problems, screen)}
  </div>`;
}

function problemList(ctx, problems, screen = null) {
  return html`<ul>${problems.map((problem) => html`<li>${where(ctx, problem.path, screen)}: ${problemText(ctx, problem, screen)}</li>`)}</ul>`;
}

function problemText(ctx, problem, screen) {
  if (screen && problem.path === "gordon.client_secret" && problem.code === "config.required" && secretState(screen) === "not_reused") {
    return ctx.t("config.secret_not_reused_problem");
  }
  return ctx.i18n.say(problem);
}

const FIELD_LABELS = {
  "gordon.base_url": "config.base_url",
  "gordon.client_id": "config.client_id",
  "gordon.client_secret": "config.client_secret",
  gordon: "config.gordon_title",
  trigger_events: "config.send_when",
  external_ref_prefix: "config.prefix",
  default_item_type: "config.item_type",
  tracking_on_fulfillment: "config.tracking_mode",
  notify_customer: "config.notify_customer",
  tracking_url: "config.tracking_url",
  delivery_groups: "config.rules_title",
  default_time_window: "config.default_window",
  delivery_days: "config.days_title",
  "delivery_days.timezone": "config.timezone",
  "delivery_days.cutoff": "config.cutoff",
  "delivery_days.lead_days": "config.lead_days",
  "delivery_days.holiday_country": "config.holidays",
  "delivery_days.weekdays": "config.weekdays",
  deliverygroup: "config.rule_group",
  channel: "config.rule_channel",
  shipping_method: "config.rule_method",
  warehouse: "config.rule_warehouse",
  time_window: "config.rule_window",
};

/** Where a problem is, in the words of the form ("Rule 2, Time window"), never its JSON path. */
function where(ctx, path, screen) {
  const rule = /^delivery_groups\[(\d+)\](?:\.(\w+))?/.exec(path);
  if (rule) {
    const label = ctx.t("config.rule_n", { n: Number(rule[1]) + 1 });
    return rule[2] && FIELD_LABELS[rule[2]] ? `${label}, ${ctx.t(FIELD_LABELS[rule[2]])}` : label;
  }
  const clean = path.replace(/\[\d+\]$/, "");
  if (FIELD_LABELS[clean]) return ctx.t(FIELD_LABELS[clean]);
  const parent = clean.split(".").slice(0, -1).join(".");
  return FIELD_LABELS[parent] ? ctx.t(FIELD_LABELS[parent]) : ctx.t("config.whole");
}

function problemsAt(screen, path) {
  return screen.problems.filter((p) => p.path === path || p.path.replace(/\[\d+\]$/, "") === path);
}

/** A labelled control with its hint and its problems (aria-describedby both). */
function field(ctx, screen, { id, path, label, control, hint = null, hintKind = null }) {
  const problems = problemsAt(screen, path);
  return html`<div class="field">
    <label for=${id}>${label}</label>
    ${control(problems.length > 0, [hint ? `${id}-hint` : "", `${id}-error`].filter(Boolean).join(" "))}
    ${hint ? html`<div class="hint ${hintKind ? `hint-${hintKind}` : ""}" id="${id}-hint">${hint}</div>` : nothing}
    <div class="field-error" id="${id}-error">${problems.map((p) => problemText(ctx, p, screen)).join(" ")}</div>
  </div>`;
}

function card(id, title, description, content) {
  return html`<section class="card" aria-labelledby=${id}>
    <div class="card-header"><div class="text"><h2 id=${id}>${title}</h2><p>${description}</p></div></div>
    ${content}
  </section>`;
}

function textInput(value, onInput, { type = "text", placeholder = "", extra = {} } = {}) {
  return (invalid, describedBy, id) => html`<input type=${type} id=${id} .value=${live(value)}
    placeholder=${placeholder || nothing} aria-invalid=${invalid ? "true" : nothing} aria-describedby=${describedBy}
    autocomplete=${extra.autocomplete || "off"} spellcheck="false" list=${extra.list || nothing}
    inputmode=${extra.inputmode || nothing} maxlength=${extra.maxlength || nothing} min=${extra.min ?? nothing} max=${extra.max ?? nothing}
    @input=${(event) => onInput(event.target.value)}>`;
}

function withId(id, make) {
  return (invalid, describedBy) => make(invalid, describedBy, id);
}

function gordonCard(ctx, screen) {
  const { t } = ctx;
  const form = screen.form;
  const environments = ctx.knowledge.environments;
  const known = environments.find((env) => env.base_url === form.base_url.trim().replace(/\/$/, ""));
  const secret = secretState(screen);
  const secretHint = {
    none: t("config.secret_none"),
    kept: t("config.secret_kept"),
    replacing: t("config.secret_replacing"),
    not_reused: t("config.secret_not_reused"),
  }[secret];
  const secretPlaceholder = {
    none: t("config.secret_placeholder_none"),
    kept: t("config.secret_placeholder_kept"),
    replacing: "",
    not_reused: t("config.secret_placeholder_needed"),
  }[secret];
  const test = screen.test;
  let result = nothing;
  if (test?.state === "asking") result = html`<span class="muted">${t("config.test_asking")}</span>`;
  else if (test?.state === "done") {
    result = html`<span class=${test.result.ok ? "result-ok" : "result-error"}>${test.result.ok ? "✓ " : ""}${t(test.result.code)}</span>`;
  } else if (test?.state === "failed") {
    const error = test.error;
    result = html`<span class="result-error">${error instanceof ApiError && error.problems.length
      ? t("config.test_not_asked", { count: error.problems.length })
      : ctx.i18n.say(error.entry || { message: error.message })}</span>`;
  }
  return card("card-gordon", t("config.gordon_title"), t("config.gordon_description"), html`
    <div class="grid">
      ${field(ctx, screen, {
        id: "gordon-environment",
        path: "gordon.environment",
        label: t("config.environment"),
        control: (invalid, describedBy) => html`<select id="gordon-environment" aria-describedby=${describedBy}
          .value=${live(known ? known.base_url : "")}
          @change=${(event) => {
            if (event.target.value) edit(ctx, screen, (f) => (f.base_url = event.target.value));
            else document.getElementById("gordon-base-url")?.focus();
          }}>
          ${environments.map((env) => html`<option value=${env.base_url} ?selected=${known === env}>${t(`environment.${env.id}`)}</option>`)}
          <option value="" ?selected=${!known}>${t("environment.other")}</option>
        </select>`,
      })}
      ${field(ctx, screen, { id: "gordon-base-url", path: "gordon.base_url", label: t("config.base_url"),
        control: withId("gordon-base-url", textInput(form.base_url, (v) => edit(ctx, screen, (f) => (f.base_url = v)), { type: "url" })) })}
      ${field(ctx, screen, { id: "gordon-client-id", path: "gordon.client_id", label: t("config.client_id"),
        control: withId("gordon-client-id", textInput(form.client_id, (v) => edit(ctx, screen, (f) => (f.client_id = v)))) })}
      ${field(ctx, screen, { id: "gordon-client-secret", path: "gordon.client_secret", label: t("config.client_secret"),
        hint: secretHint, hintKind: secret === "not_reused" ? "warning" : null,
        control: withId("gordon-client-secret", textInput(form.client_secret, (v) => edit(ctx, screen, (f) => (f.client_secret = v)),
          { type: "password", placeholder: secretPlaceholder, extra: { autocomplete: "new-password" } })) })}
    </div>
    <div class="actions spaced">
      <button class="btn" type="button" ?disabled=${test?.state === "asking"} @click=${() => testConnection(ctx, screen)}>${t("config.test")}</button>
      <div class="result" role="status" aria-live="polite">${result}</div>
    </div>`);
}

function triggerCard(ctx, screen) {
  const { t } = ctx;
  const form = screen.form;
  const toggle = (event, value) =>
    edit(ctx, screen, (f) => {
      f.trigger_events = event.target.checked
        ? ctx.knowledge.trigger_events.filter((e) => e === value || f.trigger_events.includes(e))
        : f.trigger_events.filter((e) => e !== value);
    });
  const triggerProblems = problemsAt(screen, "trigger_events");
  return card("card-trigger", t("config.trigger_title"), t("config.trigger_description"), html`
    <div class="grid">
      <fieldset class="field" aria-describedby="trigger-hint trigger-error">
        <legend class="legend">${t("config.send_when")}</legend>
        <div class="checks">${ctx.knowledge.trigger_events.map(
          (event) => html`<label class="check"><input type="checkbox" .checked=${live(form.trigger_events.includes(event))}
            @change=${(e) => toggle(e, event)}>${t(`trigger.${event}`)}</label>`,
        )}</div>
        <div class="hint" id="trigger-hint">${t("config.send_when_hint")}</div>
        <div class="field-error" id="trigger-error">${triggerProblems.map((p) => problemText(ctx, p, screen)).join(" ")}</div>
      </fieldset>
      ${field(ctx, screen, { id: "ref-prefix", path: "external_ref_prefix", label: t("config.prefix"), hint: t("config.prefix_hint"),
        control: withId("ref-prefix", textInput(form.external_ref_prefix, (v) => edit(ctx, screen, (f) => (f.external_ref_prefix = v)), { extra: { maxlength: String(PREFIX_MAX_LENGTH) } })) })}
      ${field(ctx, screen, { id: "item-type", path: "default_item_type", label: t("config.item_type"), hint: t("config.item_type_hint"),
        control: (invalid, describedBy) => html`<select id="item-type" aria-describedby=${describedBy} aria-invalid=${invalid ? "true" : nothing}
          .value=${live(form.default_item_type)} @change=${(e) => edit(ctx, screen, (f) => (f.default_item_type = e.target.value))}>
          <option value="" ?selected=${!form.default_item_type}>${t("item_type.from_products")}</option>
          ${ctx.knowledge.item_types.map((type) => html`<option value=${type} ?selected=${form.default_item_type === type}>${t(`item_type.${type}`)}</option>`)}
        </select>` })}
    </div>`);
}

function rulesCard(ctx, screen) {
  const { t } = ctx;
  const options = screen.options;
  const rulesProblems = problemsAt(screen, "delivery_groups");
  let note = nothing;
  if (options.failed) note = errorNotice(ctx, options.failed, "config.options_failed");
  else if (!options.shipping_methods) note = notice("warning", t("config.methods_need_reinstall"), { role: "note" });
  return card("card-rules", t("config.rules_title"), t("config.rules_description"), html`
    ${note}
    <div class="field-error" role="alert">${rulesProblems.map((p) => problemText(ctx, p, screen)).join(" ")}</div>
    <div class="rules">${repeat(screen.form.rules, (rule) => rule.key, (rule, index) => ruleView(ctx, screen, rule, index))}</div>
    <div class="actions spaced"><button class="btn" type="button" @click=${() => addRule(ctx, screen)}>${t("config.add_rule")}</button></div>`);
}

function ruleView(ctx, screen, rule, index) {
  const { t } = ctx;
  const count = screen.form.rules.length;
  const n = index + 1;
  const path = `delivery_groups[${index}]`;
  const id = (name) => `rule-${rule.key}-${name}`;
  const set = (key) => (value) => edit(ctx, screen, () => (rule[key] = value));
  const options = screen.options;
  const channels = options.channels.map((c) => ({
    value: c.slug,
    label: c.is_active ? t("config.channel_option", { name: c.name, slug: c.slug }) : t("config.channel_option_inactive", { name: c.name, slug: c.slug }),
    names: [c.slug, c.name],
  }));
  const warehouses = options.warehouses.map((w) => ({ value: w.slug, label: w.name, names: [w.slug, w.id, w.name] }));
  return html`<div class="rule" data-rule-key=${rule.key}>
    <div class="rule-head">
      <h3 class="title">${t("config.rule_n", { n })}</h3>
      <button class="btn btn-small btn-icon" type="button" data-move="up" aria-label=${t("config.move_up", { n })} ?disabled=${index === 0}
        @click=${() => moveRule(ctx, screen, index, -1)}>↑</button>
      <button class="btn btn-small btn-icon" type="button" data-move="down" aria-label=${t("config.move_down", { n })} ?disabled=${index === count - 1}
        @click=${() => moveRule(ctx, screen, index, 1)}>↓</button>
      <button class="btn btn-small btn-danger" type="button" aria-label=${t("config.remove_rule", { n })}
        @click=${() => removeRule(ctx, screen, index)}>${t("config.remove")}</button>
    </div>
    <div class="rule-grid">
      ${field(ctx, screen, { id: id("channel"), path: `${path}.channel`, label: t("config.rule_channel"),
        control: pick(ctx, id("channel"), rule.channel, set("channel"), t("config.any_channel"), [{ items: channels }]) })}
      ${field(ctx, screen, { id: id("method"), path: `${path}.shipping_method`, label: t("config.rule_method"),
        control: options.shipping_methods
          ? pick(ctx, id("method"), rule.shipping_method, set("shipping_method"), t("config.any_method"), methodGroups(ctx, options.shipping_methods))
          : withId(id("method"), textInput(rule.shipping_method, set("shipping_method"), { placeholder: t("config.method_placeholder") })) })}
      ${field(ctx, screen, { id: id("warehouse"), path: `${path}.warehouse`, label: t("config.rule_warehouse"),
        control: pick(ctx, id("warehouse"), rule.warehouse, set("warehouse"), t("config.any_warehouse"), [{ items: warehouses }]) })}
      ${field(ctx, screen, { id: id("group"), path: `${path}.deliverygroup`, label: t("config.rule_group"),
        control: withId(id("group"), textInput(rule.deliverygroup, set("deliverygroup"), { placeholder: t("config.group_placeholder") })) })}
      ${field(ctx, screen, { id: id("window"), path: `${path}.time_window`, label: t("config.rule_window"), hint: t("config.rule_window_hint"),
        control: withId(id("window"), textInput(rule.time_window, set("time_window"), { placeholder: t("config.window_placeholder") })) })}
    </div>
  </div>`;
}

function methodGroups(ctx, methods) {
  const zones = new Map();
  for (const method of methods) {
    const zone = method.zone || ctx.t("config.shipping_zone");
    if (!zones.has(zone)) zones.set(zone, []);
    zones.get(zone).push({ value: method.id, label: method.name, names: [method.id, method.name] });
  }
  return [...zones].map(([label, items]) => ({ label, items }));
}

/** A select of `groups` ({label?, items: [{value, label, names}]}); a stored value that is not in
 * the shop any more stays selectable and says so. */
function pick(ctx, id, current, onChange, anyLabel, groups) {
  const wanted = String(current || "").toLowerCase();
  let selected = "";
  for (const group of groups) {
    for (const item of group.items) {
      if (wanted && item.names.filter(Boolean).some((name) => String(name).toLowerCase() === wanted)) selected = item.value;
    }
  }
  const missing = current && !selected;
  if (missing) selected = current;
  const option = (item) => html`<option value=${item.value} ?selected=${item.value === selected}>${item.label}</option>`;
  return (invalid, describedBy) => html`<select id=${id} aria-describedby=${describedBy} aria-invalid=${invalid ? "true" : nothing}
    .value=${live(selected)} @change=${(event) => onChange(event.target.value)}>
    <option value="" ?selected=${!selected}>${anyLabel}</option>
    ${groups.map((group) => (group.label ? html`<optgroup label=${group.label}>${group.items.map(option)}</optgroup>` : group.items.map(option)))}
    ${missing ? html`<option value=${current} selected>${ctx.t("config.not_in_shop", { value: current })}</option>` : nothing}
  </select>`;
}

function daysCard(ctx, screen) {
  const { t } = ctx;
  const days = screen.form.days;
  const knowledge = ctx.knowledge;
  const setDay = (key) => (value) => edit(ctx, screen, (f) => (f.days[key] = value), { preview: true });
  const byName = (codes) => codes.map((code) => ({ value: code, label: ctx.i18n.region(code), names: [code] }))
    .sort((a, b) => a.label.localeCompare(b.label, ctx.i18n.locale));
  const others = knowledge.holiday_countries.filter((code) => !knowledge.delivery_countries.includes(code));
  const countryGroups = [
    { label: t("config.delivery_countries"), items: byName(knowledge.delivery_countries) },
    { label: t("config.other_countries"), items: byName(others) },
  ];
  const toggleDay = (day, on) =>
    edit(ctx, screen, (f) => (f.days.weekdays = on ? [...new Set([...f.days.weekdays, day])] : f.days.weekdays.filter((d) => d !== day)), { preview: true });
  const weekdayProblems = problemsAt(screen, "delivery_days.weekdays");
  return card("card-days", t("config.days_title"), t("config.days_description"), html`
    <datalist id="time-zones">${knowledge.time_zones.map((zone) => html`<option value=${zone}></option>`)}</datalist>
    <div class="grid">
      ${field(ctx, screen, { id: "days-timezone", path: "delivery_days.timezone", label: t("config.timezone"),
        control: withId("days-timezone", textInput(days.timezone, setDay("timezone"), { extra: { list: "time-zones" } })) })}
      ${field(ctx, screen, { id: "days-cutoff", path: "delivery_days.cutoff", label: t("config.cutoff"), hint: t("config.cutoff_hint"),
        control: withId("days-cutoff", textInput(days.cutoff, setDay("cutoff"), { placeholder: "HH:MM", extra: { inputmode: "numeric" } })) })}
      ${field(ctx, screen, { id: "days-lead", path: "delivery_days.lead_days", label: t("config.lead_days"), hint: t("config.lead_days_hint"),
        control: withId("days-lead", textInput(days.lead_days, setDay("lead_days"), { type: "number", extra: { min: "0", max: "60" } })) })}
      ${field(ctx, screen, { id: "days-holidays", path: "delivery_days.holiday_country", label: t("config.holidays"),
        control: pick(ctx, "days-holidays", days.holiday_country, setDay("holiday_country"), t("config.no_holidays"), countryGroups) })}
      ${field(ctx, screen, { id: "default-window", path: "default_time_window", label: t("config.default_window"), hint: t("config.default_window_hint"),
        control: withId("default-window", textInput(screen.form.default_time_window, (v) => edit(ctx, screen, (f) => (f.default_time_window = v)),
          { placeholder: t("config.window_placeholder") })) })}
    </div>
    <fieldset class="field spaced" aria-describedby="weekdays-error">
      <legend class="legend">${t("config.weekdays")}</legend>
      <div class="checks">${knowledge.weekdays.map(
        (day) => html`<label class="check"><input type="checkbox" .checked=${live(days.weekdays.includes(day))}
          @change=${(event) => toggleDay(day, event.target.checked)}>${ctx.i18n.weekday(day)}</label>`,
      )}</div>
      <div class="field-error" id="weekdays-error">${weekdayProblems.map((p) => problemText(ctx, p, screen)).join(" ")}</div>
    </fieldset>
    <div class="spaced" role="status" aria-live="polite">${previewView(ctx, screen)}</div>`);
}

/** What the app does with the order's fulfillments: the mode, the e-mail, the tracking link. */
function trackingCard(ctx, screen) {
  const { t } = ctx;
  const form = screen.form;
  const placeholder = ctx.knowledge.tracking_id_placeholder;
  const modeProblems = problemsAt(screen, "tracking_on_fulfillment");
  return card("card-tracking", t("config.tracking_title"), t("config.tracking_description"), html`
    <fieldset class="field" aria-describedby="tracking-mode-hint tracking-mode-error">
      <legend class="legend">${t("config.tracking_mode")}</legend>
      <div class="checks stacked">${ctx.knowledge.tracking_modes.map(
        (mode) => html`<label class="check"><input type="radio" name="tracking-mode" value=${mode}
          .checked=${live(form.tracking_on_fulfillment === mode)}
          @change=${() => edit(ctx, screen, (f) => (f.tracking_on_fulfillment = mode))}>${t(`tracking_mode.${mode}`)}</label>`,
      )}</div>
      <div class="hint" id="tracking-mode-hint">${t("config.tracking_mode_hint")}</div>
      <div class="field-error" id="tracking-mode-error">${modeProblems.map((p) => problemText(ctx, p, screen)).join(" ")}</div>
    </fieldset>
    <div class="field spaced notify-customer">
      <label class="check"><input type="checkbox" id="notify-customer" .checked=${live(form.notify_customer)}
        ?disabled=${form.tracking_on_fulfillment === "off"}
        @change=${(e) => edit(ctx, screen, (f) => (f.notify_customer = e.target.checked))}>${t("config.notify_customer")}</label>
    </div>
    ${field(ctx, screen, { id: "tracking-url", path: "tracking_url", label: t("config.tracking_url"),
      hint: t("config.tracking_url_hint", { placeholder }),
      control: withId("tracking-url", textInput(form.tracking_url, (v) => edit(ctx, screen, (f) => (f.tracking_url = v)),
        { type: "url", placeholder: `https://…/${placeholder}`, extra: { maxlength: "255" } })) })}
    <p class="hint spaced" role="status" aria-live="polite" id="tracking-url-preview">${trackingPreview(ctx, form.tracking_url)}</p>`);
}

/** The tracking link for a sample ID, as the customer would get it (nothing while the format is
 * not usable yet: saving says what is wrong with it). */
function trackingPreview(ctx, template) {
  const id = ctx.knowledge.sample_tracking_id;
  const placeholder = ctx.knowledge.tracking_id_placeholder;
  const format = template.trim();
  if (!format) return ctx.t("config.tracking_url_bare", { id });
  if (format.split(placeholder).length !== 2 || !format.startsWith("https://")) return nothing;
  const link = format.replace(placeholder, encodeURIComponent(id));
  return ctx.t("config.tracking_url_preview", { id, link });
}

function previewView(ctx, screen) {
  const preview = screen.preview;
  if (!preview) return nothing;
  if (preview.state === "failed") {
    const error = preview.error;
    const text = error instanceof ApiError && error.problems.length
      ? error.problems.map((p) => problemText(ctx, p, screen)).join(" ")
      : ctx.i18n.say(error.entry || { message: error.message });
    return notice("warning", html`<strong>${ctx.t("config.no_preview")}</strong> ${text}`);
  }
  const result = preview.result;
  return notice("info", ctx.t("config.preview", {
    now: `${ctx.i18n.weekdayTime(result.now, result.timezone)} ${ctx.i18n.zoneName(new Date(result.now), result.timezone)}`,
    date: ctx.i18n.date(result.delivery_date),
  }));
}
