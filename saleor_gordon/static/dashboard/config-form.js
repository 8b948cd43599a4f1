// The configuration screen: Gordon account, when to send, delivery-group rules, delivery days.
//
// The server validates (one validation path for the Dashboard and `saleor-gordon config set`);
// this form only collects values and shows each problem beside the field its path names.
// Keys the form does not know are kept as they were stored.

import { ApiError } from "./api.js";
import { errorNotice } from "./boot.js";
import { clear, h, uid } from "./dom.js";

const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const TRIGGER_LABELS = {
  ORDER_CREATED: "Order created",
  ORDER_CONFIRMED: "Order confirmed",
  ORDER_FULLY_PAID: "Order fully paid",
};
const HOLIDAY_COUNTRIES = [
  ["", "No public holidays"],
  ["SE", "Sweden"],
  ["NO", "Norway"],
  ["DK", "Denmark"],
  ["FI", "Finland"],
];
const TIMEZONES = ["Europe/Stockholm", "Europe/Oslo", "Europe/Copenhagen", "Europe/Helsinki", "UTC"];

// The client secret is write-only: its field only says whether the app has one stored.
function secretPlaceholder(secretSet) {
  return secretSet ? "•••••••• (stored; leave empty to keep)" : "Not set";
}

function secretHint(secretSet) {
  return secretSet ? "A secret is stored. It is never shown; type a new one to replace it." : "No secret stored yet.";
}

function defaults(environments) {
  return {
    gordon: { base_url: environments[0].base_url, client_id: "", client_secret: "" },
    trigger_events: ["ORDER_FULLY_PAID"],
    external_ref_prefix: "",
    delivery_groups: [{ deliverygroup: "" }],
    default_time_window: "",
    delivery_days: {
      timezone: "Europe/Stockholm",
      cutoff: "14:00",
      weekdays: [1, 2, 3, 4, 5],
      lead_days: 1,
      holiday_country: "SE",
    },
  };
}

export async function renderConfig({ api, bridge, root, session, onSaved }) {
  root.append(h("p", { class: "spinner", role: "status" }, "Loading the configuration…"));
  let stored;
  let options;
  try {
    [stored, options] = await Promise.all([api.get("/config"), loadOptions(api)]);
  } catch (error) {
    clear(root).append(errorNotice(error));
    return;
  }
  clear(root);
  new ConfigForm({ api, bridge, root, session, stored, options, onSaved }).render();
}

async function loadOptions(api) {
  try {
    return await api.get("/shop-options");
  } catch (error) {
    if (error instanceof ApiError && error.status >= 500) {
      return { channels: [], warehouses: [], shipping_methods: null, shipping_methods_note: error.message, failed: true };
    }
    throw error;
  }
}

class ConfigForm {
  constructor({ api, bridge, root, session, stored, options, onSaved }) {
    this.api = api;
    this.bridge = bridge;
    this.root = root;
    this.session = session;
    this.stored = stored;
    this.options = options;
    this.onSaved = onSaved;
    this.readOnly = !session.can_configure;
    this.doc = structuredClone(stored.config || defaults(stored.environments));
    this.doc.gordon = { ...this.doc.gordon, client_secret: "" };
    this.rules = (this.doc.delivery_groups || []).map((rule) => ({ ...rule }));
    this.fields = new Map(); // JSON path -> {input, error}
    this.previewTimer = null;
  }

  render() {
    const form = h("form", { novalidate: true, "aria-label": "Gordon Delivery configuration" });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    this.summary = h("div", { class: "notice", tabindex: "-1" });
    if (this.readOnly) {
      form.append(
        h(
          "div",
          { class: "notice notice-info", role: "note" },
          "You can look at the configuration. Changing it needs the “Manage apps” permission in Saleor.",
        ),
      );
    }
    if (this.stored.problems.length) {
      form.append(
        h(
          "div",
          { class: "notice notice-warning", role: "alert" },
          "The stored configuration no longer validates; orders wait until it is fixed and saved.",
          h("ul", {}, this.stored.problems.map((p) => h("li", {}, `${p.path}: ${p.message}`))),
        ),
      );
    }
    if (!this.stored.config) {
      this.welcome = form.appendChild(
        h(
          "div",
          { class: "notice notice-info", role: "note" },
          h("strong", {}, "Welcome. "),
          "Enter your Gordon API credentials, test them, add a delivery group and save. Orders that " +
            "arrived before will be sent then.",
        ),
      );
    }
    form.append(this.summary);
    form.append(this.gordonCard(), this.triggerCard(), this.rulesCard(), this.daysCard());
    this.saveStatus = h("span", { class: "status", role: "status", "aria-live": "polite" });
    this.saveButton = h("button", { class: "btn btn-primary", type: "submit", disabled: this.readOnly }, "Save");
    form.append(h("div", { class: "save-bar" }, this.saveStatus, this.saveButton));
    if (this.readOnly) for (const element of form.querySelectorAll("input, select, button")) element.disabled = true;
    this.root.append(form);
    this.schedulePreview(0);
  }

  // --- building blocks ------------------------------------------------------------------

  field(path, label, input, hint) {
    const id = input.id || uid("field");
    input.id = id;
    const error = h("div", { class: "field-error", id: `${id}-error` });
    const hintElement = hint ? h("div", { class: "hint", id: `${id}-hint` }, hint) : null;
    if (path === "gordon.client_secret") this.secretHint = hintElement;
    input.setAttribute("aria-describedby", [hintElement && hintElement.id, error.id].filter(Boolean).join(" "));
    input.dataset.path = path;
    this.fields.set(path, { input, error });
    return h("div", { class: "field" }, h("label", { for: id }, label), input, hintElement, error);
  }

  group(path, legend, content, hint) {
    const error = h("div", { class: "field-error", id: uid("group-error") });
    const fieldset = h(
      "fieldset",
      { class: "field", "aria-describedby": error.id },
      h("legend", { class: "legend" }, legend),
      content,
      hint ? h("div", { class: "hint" }, hint) : null,
      error,
    );
    this.fields.set(path, { input: fieldset.querySelector("input") || fieldset, error, group: fieldset });
    return fieldset;
  }

  card(title, description, ...content) {
    const headingId = uid("card");
    return h(
      "section",
      { class: "card", "aria-labelledby": headingId },
      h("div", { class: "card-header" }, h("div", { class: "text" }, h("h2", { id: headingId }, title), h("p", {}, description))),
      ...content,
    );
  }

  // --- Gordon account ---------------------------------------------------------------------

  gordonCard() {
    const environments = this.stored.environments;
    const baseUrl = h("input", { type: "url", value: this.doc.gordon.base_url || "", autocomplete: "off", spellcheck: "false" });
    const environment = h(
      "select",
      {},
      environments.map((env) => h("option", { value: env.base_url }, env.name)),
      h("option", { value: "" }, "Other (enter the URL)"),
    );
    const syncEnvironment = () => {
      const known = environments.find((env) => env.base_url === baseUrl.value.trim().replace(/\/$/, ""));
      environment.value = known ? known.base_url : "";
    };
    syncEnvironment();
    environment.addEventListener("change", () => {
      if (environment.value) baseUrl.value = environment.value;
      else baseUrl.focus();
    });
    baseUrl.addEventListener("input", syncEnvironment);
    this.baseUrl = baseUrl;
    this.clientId = h("input", { type: "text", value: this.doc.gordon.client_id || "", autocomplete: "off", spellcheck: "false" });
    const secretSet = this.stored.client_secret_set;
    this.clientSecret = h("input", {
      type: "password",
      value: "",
      autocomplete: "new-password",
      placeholder: secretPlaceholder(secretSet),
    });
    this.connectionResult = h("div", { class: "result", role: "status", "aria-live": "polite" });
    const test = h("button", { class: "btn", type: "button", onclick: () => this.testConnection(test) }, "Test connection");
    return this.card(
      "Gordon account",
      "The API credentials from Gordon's Last Mile Platform (Account → API Credentials).",
      h(
        "div",
        { class: "grid" },
        this.field("gordon.environment", "Environment", environment),
        this.field("gordon.base_url", "Gordon API URL", baseUrl),
        this.field("gordon.client_id", "Client ID", this.clientId),
        this.field("gordon.client_secret", "Client secret", this.clientSecret, secretHint(secretSet)),
      ),
      h("div", { class: "actions spaced" }, test, this.connectionResult),
    );
  }

  gordonValues() {
    return {
      ...this.doc.gordon,
      base_url: this.baseUrl.value.trim(),
      client_id: this.clientId.value.trim(),
      client_secret: this.clientSecret.value.trim(),
    };
  }

  async testConnection(button) {
    button.disabled = true;
    this.clearErrors("gordon.");
    this.connectionResult.className = "result";
    this.connectionResult.textContent = "Asking Gordon…";
    try {
      const result = await this.api.post("/config/test-connection", { gordon: this.gordonValues() });
      this.connectionResult.className = `result ${result.ok ? "result-ok" : "result-error"}`;
      this.connectionResult.textContent = result.ok ? `✓ ${result.message}` : `Not connected: ${result.message}`;
    } catch (error) {
      this.connectionResult.className = "result result-error";
      this.connectionResult.textContent = error.message;
      if (error instanceof ApiError) this.showProblems(error.problems, false);
    } finally {
      button.disabled = this.readOnly;
    }
  }

  // --- when to send -----------------------------------------------------------------------

  triggerCard() {
    const chosen = new Set(this.doc.trigger_events || []);
    this.triggers = this.stored.trigger_events.map((event) =>
      h("input", { type: "checkbox", value: event, checked: chosen.has(event) }),
    );
    const checks = h(
      "div",
      { class: "checks" },
      this.triggers.map((input, index) =>
        h("label", { class: "check" }, input, TRIGGER_LABELS[this.stored.trigger_events[index]] || input.value),
      ),
    );
    this.prefix = h("input", { type: "text", value: this.doc.external_ref_prefix || "", maxlength: "20" });
    this.itemType = h(
      "select",
      {},
      h("option", { value: "" }, "As the products say (gordon.type)"),
      this.stored.item_types.map((type) => h("option", { value: type }, type[0].toUpperCase() + type.slice(1))),
    );
    this.itemType.value = this.doc.default_item_type || "";
    return this.card(
      "When orders are sent",
      "An order goes to Gordon once it reaches one of these events; later changes update it and cancellations withdraw it.",
      h(
        "div",
        { class: "grid" },
        this.group("trigger_events", "Send when", checks, "Usually “Order fully paid”."),
        this.field(
          "external_ref_prefix",
          "External reference prefix",
          this.prefix,
          "Put before the order number in Gordon, e.g. SE- for SE-1042. Empty: the number alone.",
        ),
        this.field(
          "default_item_type",
          "Default item type",
          this.itemType,
          "For items whose product or variant has no gordon.type metadata.",
        ),
      ),
    );
  }

  // --- delivery groups --------------------------------------------------------------------

  rulesCard() {
    this.rulesList = h("div", { class: "rules" });
    const add = h(
      "button",
      {
        class: "btn",
        type: "button",
        onclick: () => {
          this.collectRules();
          this.rules.push({ deliverygroup: "" });
          this.renderRules();
          this.rulesList.lastElementChild.querySelector("select, input").focus();
        },
      },
      "Add rule",
    );
    const note = this.options.shipping_methods_note
      ? h("div", { class: `notice ${this.options.failed ? "notice-error" : "notice-warning"}`, role: "note" }, this.options.shipping_methods_note)
      : null;
    const card = this.card(
      "Delivery groups",
      "Which orders go to which Gordon delivery group. The first rule that matches an order wins; an empty condition matches any order.",
      note,
      this.rulesList,
      h("div", { class: "actions spaced" }, add),
    );
    this.rulesError = h("div", { class: "field-error", role: "alert" });
    card.insertBefore(this.rulesError, this.rulesList);
    this.fields.set("delivery_groups", { input: add, error: this.rulesError });
    this.renderRules();
    return card;
  }

  renderRules() {
    for (const key of [...this.fields.keys()]) if (key.startsWith("delivery_groups[")) this.fields.delete(key);
    clear(this.rulesList);
    this.rules.forEach((rule, index) => this.rulesList.append(this.ruleRow(rule, index)));
    if (this.readOnly) for (const element of this.rulesList.querySelectorAll("input, select, button")) element.disabled = true;
  }

  ruleRow(rule, index) {
    const path = `delivery_groups[${index}]`;
    const count = this.rules.length;
    const move = (delta) => {
      this.collectRules();
      const [moved] = this.rules.splice(index, 1);
      this.rules.splice(index + delta, 0, moved);
      this.renderRules();
      const label = delta < 0 ? "Move up" : "Move down";
      const row = this.rulesList.children[index + delta];
      (row.querySelector(`[aria-label^="${label}"]`) || row.querySelector("button")).focus();
    };
    const remove = () => {
      this.collectRules();
      this.rules.splice(index, 1);
      this.renderRules();
      const next = this.rulesList.children[Math.min(index, this.rules.length - 1)];
      if (next) next.querySelector("select, input").focus();
    };
    const channel = this.select(
      "Any channel",
      this.options.channels.map((c) => ({ value: c.slug, label: c.is_active ? `${c.name} (${c.slug})` : `${c.name} (${c.slug}, inactive)` })),
      rule.channel,
    );
    const method = this.methodInput(rule.shipping_method);
    const warehouse = this.select(
      "Any warehouse",
      this.options.warehouses.map((w) => ({ value: w.slug, label: w.name, also: [w.id, w.name] })),
      rule.warehouse,
    );
    const group = h("input", { type: "text", value: rule.deliverygroup || "", placeholder: "As named in Gordon" });
    const window_ = h("input", { type: "text", value: rule.time_window || "", placeholder: "Default time window" });
    const row = h(
      "div",
      { class: "rule", dataset: { index: String(index) } },
      h(
        "div",
        { class: "rule-head" },
        h("span", { class: "title" }, `Rule ${index + 1}`),
        h("button", { class: "btn btn-small btn-icon", type: "button", "aria-label": `Move up rule ${index + 1}`, disabled: index === 0, onclick: () => move(-1) }, "↑"),
        h("button", { class: "btn btn-small btn-icon", type: "button", "aria-label": `Move down rule ${index + 1}`, disabled: index === count - 1, onclick: () => move(1) }, "↓"),
        h("button", { class: "btn btn-small btn-danger", type: "button", "aria-label": `Remove rule ${index + 1}`, onclick: remove }, "Remove"),
      ),
      h(
        "div",
        { class: "rule-grid" },
        this.field(`${path}.channel`, "Channel", channel),
        this.field(`${path}.shipping_method`, "Shipping method", method),
        this.field(`${path}.warehouse`, "Warehouse", warehouse),
        this.field(`${path}.deliverygroup`, "Gordon delivery group", group),
        this.field(`${path}.time_window`, "Time window", window_, "HH:MM - HH:MM; empty: the default"),
      ),
    );
    row._inputs = { channel, method, warehouse, group, window_ };
    return row;
  }

  select(anyLabel, items, current) {
    const select = h("select", {}, h("option", { value: "" }, anyLabel));
    let selected = "";
    for (const item of items) {
      select.append(h("option", { value: item.value }, item.label));
      const names = [item.value, ...(item.also || [])].filter(Boolean).map((v) => String(v).toLowerCase());
      if (current && names.includes(String(current).toLowerCase())) selected = item.value;
    }
    if (current && !selected) {
      select.append(h("option", { value: current }, `${current} (not found in this shop)`));
      selected = current;
    }
    select.value = selected;
    return select;
  }

  methodInput(current) {
    const methods = this.options.shipping_methods;
    if (!methods) {
      return h("input", { type: "text", value: current || "", placeholder: "Any shipping method (type its name)" });
    }
    const select = h("select", {}, h("option", { value: "" }, "Any shipping method"));
    const zones = new Map();
    for (const method of methods) {
      if (!zones.has(method.zone)) zones.set(method.zone, []);
      zones.get(method.zone).push(method);
    }
    let selected = "";
    for (const [zone, list] of zones) {
      const group = h("optgroup", { label: zone || "Shipping zone" });
      for (const method of list) {
        group.append(h("option", { value: method.id }, method.name));
        if (current && [method.id, method.name].some((v) => v && v.toLowerCase() === String(current).toLowerCase())) {
          selected = method.id;
        }
      }
      select.append(group);
    }
    if (current && !selected) {
      select.append(h("option", { value: current }, `${current} (not found in this shop)`));
      selected = current;
    }
    select.value = selected;
    return select;
  }

  collectRules() {
    const rows = [...this.rulesList.children];
    this.rules = rows.map((row, index) => {
      const inputs = row._inputs;
      const rule = { ...(this.rules[index] || {}) };
      rule.channel = inputs.channel.value || null;
      rule.shipping_method = inputs.method.value.trim() || null;
      rule.warehouse = inputs.warehouse.value || null;
      rule.deliverygroup = inputs.group.value.trim();
      rule.time_window = inputs.window_.value.trim() || null;
      return rule;
    });
    return this.rules;
  }

  // --- delivery days ----------------------------------------------------------------------

  daysCard() {
    const days = this.doc.delivery_days || {};
    this.timezone = h("input", { type: "text", value: days.timezone || "Europe/Stockholm", list: "timezones" });
    const zones = h("datalist", { id: "timezones" }, TIMEZONES.map((zone) => h("option", { value: zone })));
    this.cutoff = h("input", { type: "text", value: days.cutoff || "14:00", inputmode: "numeric", placeholder: "HH:MM" });
    this.leadDays = h("input", { type: "number", value: String(days.lead_days ?? 1), min: "0", max: "60" });
    const chosen = new Set(days.weekdays || [1, 2, 3, 4, 5]);
    this.weekdays = WEEKDAYS.map((_, index) => h("input", { type: "checkbox", value: String(index + 1), checked: chosen.has(index + 1) }));
    this.holidays = h("select", {}, HOLIDAY_COUNTRIES.map(([code, name]) => h("option", { value: code }, name)));
    const country = days.holiday_country || "";
    if (country && !HOLIDAY_COUNTRIES.some(([code]) => code === country)) this.holidays.append(h("option", { value: country }, country));
    this.holidays.value = country;
    this.defaultWindow = h("input", { type: "text", value: this.doc.default_time_window || "", placeholder: "e.g. 14:00 - 16:00" });
    this.previewLine = h("div", { class: "notice notice-info", role: "status", "aria-live": "polite" });
    const card = this.card(
      "Delivery days",
      "When Gordon can deliver. Orders without a requested date get the first allowed day.",
      zones,
      h(
        "div",
        { class: "grid" },
        this.field("delivery_days.timezone", "Time zone", this.timezone),
        this.field("delivery_days.cutoff", "Order cutoff", this.cutoff, "Orders at or after this time count as next day's."),
        this.field("delivery_days.lead_days", "Lead days", this.leadDays, "Days between ordering and delivery."),
        this.field("delivery_days.holiday_country", "Public holidays of", this.holidays),
        this.field(
          "default_time_window",
          "Default time window",
          this.defaultWindow,
          "Used when neither the rule nor the order names one.",
        ),
      ),
      h(
        "div",
        { class: "spaced" },
        this.group(
          "delivery_days.weekdays",
          "Delivery weekdays",
          h("div", { class: "checks" }, this.weekdays.map((input, index) => h("label", { class: "check" }, input, WEEKDAYS[index]))),
        ),
      ),
      h("div", { class: "spaced" }, this.previewLine),
    );
    for (const input of [this.timezone, this.cutoff, this.leadDays, this.holidays, ...this.weekdays]) {
      input.addEventListener("input", () => this.schedulePreview());
      input.addEventListener("change", () => this.schedulePreview());
    }
    return card;
  }

  daysValues() {
    const lead = this.leadDays.value.trim();
    return {
      ...(this.doc.delivery_days || {}),
      timezone: this.timezone.value.trim(),
      cutoff: this.cutoff.value.trim(),
      weekdays: this.weekdays.filter((input) => input.checked).map((input) => Number(input.value)),
      lead_days: lead === "" || Number.isNaN(Number(lead)) ? lead : Number(lead),
      holiday_country: this.holidays.value || null,
    };
  }

  schedulePreview(delay = 300) {
    clearTimeout(this.previewTimer);
    this.previewTimer = setTimeout(() => this.preview(), delay);
  }

  async preview() {
    this.clearErrors("delivery_days.");
    try {
      const result = await this.api.post("/config/delivery-date-preview", { delivery_days: this.daysValues() });
      this.previewLine.className = "notice notice-info";
      this.previewLine.textContent = result.explanation;
    } catch (error) {
      this.previewLine.className = "notice notice-warning";
      this.previewLine.textContent = `No preview: ${error.message}`;
      if (error instanceof ApiError) this.showProblems(error.problems, false);
    }
  }

  // --- saving -------------------------------------------------------------------------------

  collect() {
    const doc = structuredClone(this.doc);
    doc.gordon = this.gordonValues();
    doc.trigger_events = this.triggers.filter((input) => input.checked).map((input) => input.value);
    doc.external_ref_prefix = this.prefix.value.trim();
    doc.delivery_groups = this.collectRules();
    doc.delivery_days = this.daysValues();
    doc.default_time_window = this.defaultWindow.value.trim() || null;
    doc.default_item_type = this.itemType.value || null;
    return doc;
  }

  async save() {
    const doc = this.collect();
    this.clearErrors("");
    this.saveButton.disabled = true;
    this.saveStatus.textContent = "Saving…";
    try {
      const saved = await this.api.put("/config", { config: doc });
      this.saveStatus.textContent = "Saved. Orders waiting for a configuration are being sent now.";
      this.clientSecret.value = "";
      this.clientSecret.placeholder = secretPlaceholder(saved.client_secret_set);
      this.secretHint.textContent = secretHint(saved.client_secret_set);
      if (this.welcome) this.welcome.remove();
      this.bridge.notify("success", "Configuration saved", "Gordon Delivery uses the new settings from now on.");
      if (this.onSaved) this.onSaved();
    } catch (error) {
      this.saveStatus.textContent = "Not saved.";
      if (error instanceof ApiError && error.problems.length) {
        this.showProblems(error.problems, true, error.message);
      } else {
        clear(this.summary).append(errorNotice(error, "The configuration was not saved"));
        this.summary.className = "notice";
        this.summary.focus();
      }
      this.bridge.notify("error", "Configuration not saved", error.message);
    } finally {
      this.saveButton.disabled = this.readOnly;
    }
  }

  clearErrors(prefix) {
    for (const [path, { input, error }] of this.fields) {
      if (!path.startsWith(prefix)) continue;
      error.textContent = "";
      input.removeAttribute("aria-invalid");
    }
    if (prefix === "") {
      clear(this.summary);
      this.summary.className = "notice";
    }
  }

  /** Put each problem beside its field; with `summarise`, list them all on top as well. */
  showProblems(problems, summarise, message) {
    let first = null;
    const unplaced = [];
    for (const problem of problems) {
      const target = this.fields.get(problem.path) || this.fields.get(problem.path.replace(/\[\d+\]$/, ""));
      if (!target) {
        unplaced.push(problem);
        continue;
      }
      target.error.textContent = target.error.textContent
        ? `${target.error.textContent} ${problem.message}`
        : problem.message;
      if (target.input && target.input.setAttribute) target.input.setAttribute("aria-invalid", "true");
      first = first || target.input;
    }
    if (!summarise) return;
    this.summary.className = "notice notice-error";
    clear(this.summary).append(
      h("strong", {}, message || "Nothing was saved."),
      " Fix the fields marked below.",
      h("ul", {}, problems.map((p) => h("li", {}, `${describePath(p.path)}: ${p.message}`))),
    );
    this.summary.setAttribute("role", "alert");
    (first || this.summary).focus();
  }
}

function describePath(path) {
  return path
    .replace(/^delivery_groups\[(\d+)\]\.?/, (_, index) => `Rule ${Number(index) + 1} `)
    .replace(/^gordon\./, "Gordon ")
    .replace(/^delivery_days\./, "Delivery days ")
    .replace(/_/g, " ")
    .trim();
}

