// @ts-check
/**
 * OAuth 2.0 authorization code + PKCE (RFC 7636) helpers for the Cognito hosted UI.
 *
 * Pure functions over Web Crypto (`globalThis.crypto`): no DOM, no storage, no network, so the
 * page and Node's test runner import this same file.
 *
 * @module pkce
 */

/** The characters RFC 7636 allows in a code verifier ("unreserved" URI characters). */
export const VERIFIER_PATTERN = /^[A-Za-z0-9\-._~]{43,128}$/;

/** How long a started sign-in may take before its callback is refused. */
export const PENDING_SIGN_IN_MAX_AGE_MS = 10 * 60 * 1000;

/** The callback's `state` is missing or is not the one this browser tab sent. */
export class StateMismatchError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "StateMismatchError";
  }
}

/** The authorization server sent the user back with an OAuth error instead of a code. */
export class AuthorizationError extends Error {
  /**
   * @param {string} code OAuth `error`, e.g. `access_denied`
   * @param {string} description OAuth `error_description`, possibly empty
   */
  constructor(code, description) {
    super(description || code);
    this.name = "AuthorizationError";
    this.code = code;
  }
}

/**
 * Base64url without padding (RFC 4648 section 5), as PKCE and JWTs use it.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function base64UrlEncode(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Decode base64url (padded or not) to a string of UTF-8 text.
 * @param {string} text
 * @returns {string}
 */
export function base64UrlDecodeText(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/**
 * `count` bytes from the platform's cryptographic random generator.
 * @param {number} count
 * @returns {Uint8Array}
 */
function randomBytes(count) {
  return globalThis.crypto.getRandomValues(new Uint8Array(count));
}

/**
 * A fresh code verifier: `length` characters of base64url over cryptographic random bytes
 * (6 bits each, so the default 64 characters carry 384 bits).
 * @param {number} [length=64] 43..128, as RFC 7636 section 4.1 requires
 * @returns {string}
 */
export function createVerifier(length = 64) {
  if (!Number.isInteger(length) || length < 43 || length > 128) {
    throw new RangeError("a PKCE code verifier is 43 to 128 characters long");
  }
  return base64UrlEncode(randomBytes(Math.ceil((length * 3) / 4))).slice(0, length);
}

/**
 * The S256 code challenge: base64url(SHA-256(ASCII(verifier))), RFC 7636 section 4.2.
 * @param {string} verifier
 * @returns {Promise<string>}
 */
export async function createChallenge(verifier) {
  if (!VERIFIER_PATTERN.test(verifier)) {
    throw new RangeError("not a PKCE code verifier (43-128 unreserved characters)");
  }
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64UrlEncode(new Uint8Array(digest));
}

/**
 * An unguessable `state` value (256 bits) that ties the callback to this tab's request.
 * @returns {string}
 */
export function createState() {
  return base64UrlEncode(randomBytes(32));
}

/**
 * Refuse a callback whose `state` is absent or differs from the one sent.
 * @param {string | null | undefined} expected the state stored when the sign-in began
 * @param {string | null | undefined} received the state on the callback URL
 * @throws {StateMismatchError}
 */
export function assertStateMatches(expected, received) {
  if (!expected || !received) {
    throw new StateMismatchError("the sign-in response has no matching request in this tab");
  }
  if (expected !== received) {
    throw new StateMismatchError("the sign-in response does not match the request this tab sent");
  }
}

/**
 * @typedef {object} AuthorizeRequest
 * @property {string} hostedUiUrl the Cognito domain, e.g. `https://x.auth.eu-west-1.amazoncognito.com`
 * @property {string} clientId the public app client
 * @property {string} redirectUri exactly as registered on the app client
 * @property {string} challenge from {@link createChallenge}
 * @property {string} state from {@link createState}
 * @property {readonly string[]} [scopes]
 */

/**
 * The hosted UI's `/oauth2/authorize` URL for the code flow with an S256 challenge.
 * @param {AuthorizeRequest} request
 * @returns {string}
 */
export function authorizeUrl({ hostedUiUrl, clientId, redirectUri, challenge, state, scopes = ["openid", "email"] }) {
  const url = new URL("/oauth2/authorize", hostedUiUrl);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: scopes.join(" "),
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  return url.toString();
}

/**
 * The form body for `/oauth2/token` that trades the code and verifier for tokens.
 * @param {{clientId: string, code: string, redirectUri: string, verifier: string}} exchange
 * @returns {URLSearchParams}
 */
export function tokenRequestBody({ clientId, code, redirectUri, verifier }) {
  return new URLSearchParams({
    grant_type: "authorization_code",
    client_id: clientId,
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
  });
}

/**
 * @typedef {object} PendingSignIn what is kept in sessionStorage across the redirect, and only that
 * @property {string} state
 * @property {string} verifier
 * @property {string} redirectUri
 * @property {number} startedAt epoch milliseconds
 */

/**
 * @typedef {object} Callback the authorization response read from the callback URL
 * @property {string | null} code
 * @property {string | null} state
 * @property {string | null} error
 * @property {string | null} errorDescription
 */

/**
 * Read the authorization response from a callback URL's query string.
 * @param {string} search e.g. `location.search`
 * @returns {Callback | null} null when the URL is not a callback at all
 */
export function parseCallback(search) {
  const params = new URLSearchParams(search);
  if (!params.has("code") && !params.has("error")) return null;
  return {
    code: params.get("code"),
    state: params.get("state"),
    error: params.get("error"),
    errorDescription: params.get("error_description"),
  };
}

/**
 * Decide whether a callback may be exchanged: its state matches the pending sign-in, which is
 * recent, and it carries a code. Returns what the token request needs.
 * @param {PendingSignIn | null} pending
 * @param {Callback} callback
 * @param {number} now epoch milliseconds
 * @returns {{code: string, verifier: string, redirectUri: string}}
 * @throws {StateMismatchError | AuthorizationError}
 */
export function acceptCallback(pending, callback, now) {
  assertStateMatches(pending?.state, callback.state);
  if (!pending || now - pending.startedAt > PENDING_SIGN_IN_MAX_AGE_MS || now < pending.startedAt) {
    throw new StateMismatchError("the sign-in took too long; start it again");
  }
  if (callback.error) throw new AuthorizationError(callback.error, callback.errorDescription ?? "");
  if (!callback.code) throw new AuthorizationError("invalid_request", "the sign-in response has no code");
  return { code: callback.code, verifier: pending.verifier, redirectUri: pending.redirectUri };
}
