// @ts-check
/**
 * The page's settings, read once from `window.__APP_CONFIG__` (set by the generated `/config.js`:
 * the local stack serves it, `deploy/publish-site.sh` writes it from the stack outputs) and
 * checked, so a wrong deployment fails with a message instead of half-working.
 *
 * DOM-free: Node's test runner imports it too.
 *
 * @module config
 */

/** Sign-in with e-mail and password through Cognito `InitiateAuth` (the local stack only). */
export const PASSWORD_FLOW = "USER_PASSWORD_AUTH";
/** Sign-in through the Cognito hosted UI: authorization code + PKCE (AWS). */
export const HOSTED_UI_FLOW = "HOSTED_UI";

const DEFAULT_PAGE_SIZE = 12;

/**
 * @typedef {typeof PASSWORD_FLOW | typeof HOSTED_UI_FLOW} AuthFlow
 */

/**
 * @typedef {object} AppConfig
 * @property {string} apiBaseUrl the asset API, no trailing slash
 * @property {string} assetBaseUrl where `ready` images are served (the CDN's `/assets`), no trailing slash
 * @property {string} region
 * @property {string} userPoolId
 * @property {string} userPoolClientId the public app client (no secret)
 * @property {string} userPoolIssuer the ID token's `iss`
 * @property {AuthFlow} authFlow which sign-in the page offers
 * @property {string} environment `local`, `preview`, `production`...
 * @property {string | null} cognitoEndpoint `USER_PASSWORD_AUTH`: where `InitiateAuth` is sent
 * @property {string | null} hostedUiUrl `HOSTED_UI`: the Cognito domain (`/oauth2/*`, `/logout`)
 * @property {number | null} maxUploadBytes optional: lets the page refuse a too-large file before asking for a form
 * @property {number} pageSize images per page in "My images" (1..100)
 */

/** The configuration is missing or wrong; the message says which key and why. */
export class ConfigError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "ConfigError";
  }
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * An absolute http(s) URL without a trailing slash; plain http only on this machine, because
 * tokens travel to these URLs.
 * @param {Record<string, unknown>} raw
 * @param {string} key
 * @returns {string}
 */
function urlSetting(raw, key) {
  const value = stringSetting(raw, key);
  let url;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`config.js: ${key} is not a URL: ${JSON.stringify(value)}`);
  }
  const insecureAllowed = url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== "https:" && !insecureAllowed) {
    throw new ConfigError(`config.js: ${key} must be an https URL (plain http only for localhost)`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError(`config.js: ${key} must be a plain base URL, without query, fragment or credentials`);
  }
  return value.replace(/\/+$/, "");
}

/**
 * @param {Record<string, unknown>} raw
 * @param {string} key
 * @returns {string}
 */
function stringSetting(raw, key) {
  const value = raw[key];
  if (typeof value !== "string" || value.trim() === "") {
    throw new ConfigError(`config.js: ${key} is missing`);
  }
  return value.trim();
}

/**
 * @param {Record<string, unknown>} raw
 * @param {string} key
 * @param {number} max
 * @returns {number | null}
 */
function optionalCount(raw, key, max) {
  const value = raw[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw new ConfigError(`config.js: ${key} must be a whole number from 1 to ${max}`);
  }
  return value;
}

/**
 * Check and normalise the raw configuration object.
 * @param {unknown} raw what `/config.js` put on `window.__APP_CONFIG__`
 * @returns {Readonly<AppConfig>}
 * @throws {ConfigError}
 */
export function parseConfig(raw) {
  if (raw === null || typeof raw !== "object") {
    throw new ConfigError("config.js did not load: window.__APP_CONFIG__ is not set");
  }
  const settings = /** @type {Record<string, unknown>} */ (raw);
  const authFlow = stringSetting(settings, "authFlow");
  if (authFlow !== PASSWORD_FLOW && authFlow !== HOSTED_UI_FLOW) {
    throw new ConfigError(`config.js: authFlow must be "${HOSTED_UI_FLOW}" or "${PASSWORD_FLOW}", not "${authFlow}"`);
  }
  return Object.freeze({
    apiBaseUrl: urlSetting(settings, "apiBaseUrl"),
    assetBaseUrl: urlSetting(settings, "assetBaseUrl"),
    region: stringSetting(settings, "region"),
    userPoolId: stringSetting(settings, "userPoolId"),
    userPoolClientId: stringSetting(settings, "userPoolClientId"),
    userPoolIssuer: urlSetting(settings, "userPoolIssuer"),
    authFlow,
    environment: stringSetting(settings, "environment"),
    cognitoEndpoint: authFlow === PASSWORD_FLOW ? urlSetting(settings, "cognitoEndpoint") : null,
    hostedUiUrl: authFlow === HOSTED_UI_FLOW ? urlSetting(settings, "hostedUiUrl") : null,
    maxUploadBytes: optionalCount(settings, "maxUploadBytes", 5 * 1024 ** 3),
    pageSize: optionalCount(settings, "pageSize", 100) ?? DEFAULT_PAGE_SIZE,
  });
}

/**
 * The page's configuration, from the global the generated `/config.js` sets.
 * @returns {Readonly<AppConfig>}
 * @throws {ConfigError}
 */
export function loadConfig() {
  return parseConfig(/** @type {{__APP_CONFIG__?: unknown}} */ (globalThis).__APP_CONFIG__);
}
