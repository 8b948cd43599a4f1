// Calls to the app's Dashboard API with the Dashboard token, as @saleor/app-sdk does
// (`authorization-bearer` and `saleor-api-url` headers). A refusal becomes ApiError with the app's
// code, its parameters and English message (the page words the code: i18n.say), and, for a
// configuration that does not validate, the problems by field.

export class ApiError extends Error {
  constructor(status, code, message, { params = {}, problems = [] } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.params = params;
    this.problems = problems;
  }

  /** As a server message for i18n.say(): {code, params, message}. */
  get entry() {
    return { code: `error.${this.code}`, params: this.params, message: this.message };
  }
}

export class Api {
  constructor(bridge) {
    this.bridge = bridge;
  }

  get(path, params = {}) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== "") query.set(key, value);
    }
    const suffix = query.toString() ? `?${query}` : "";
    return this._call("GET", `${path}${suffix}`);
  }

  post(path, body = {}) {
    return this._call("POST", path, body);
  }

  put(path, body) {
    return this._call("PUT", path, body);
  }

  async _call(method, path, body) {
    const token = await this.bridge.waitForToken();
    const headers = {
      "authorization-bearer": token,
      "saleor-api-url": this.bridge.saleorApiUrl,
    };
    const init = { method, headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(`/api/dashboard${path}`, init);
    } catch {
      throw new ApiError(0, "NETWORK", "The app could not be reached. Check your connection and try again.");
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(response.status, error.code || "HTTP_ERROR", error.message || `The app answered HTTP ${response.status}.`, {
        params: error.params && typeof error.params === "object" ? error.params : {},
        problems: Array.isArray(error.problems) ? error.problems : [],
      });
    }
    return data;
  }
}
