// @ts-check
/**
 * Sign-in, in the two ways `config.js` may ask for:
 *
 * - `HOSTED_UI` (AWS): the Cognito hosted UI with the authorization-code flow and PKCE. Only the
 *   code verifier and state are stored, in sessionStorage, for the length of the redirect; the
 *   state is checked on return, the code exchanged at `/oauth2/token`, and the URL cleaned.
 * - `USER_PASSWORD_AUTH` (the local stack, where moto has no hosted UI): e-mail and password sent
 *   to Cognito's `InitiateAuth`.
 *
 * With the hosted UI a reload does not sign the user out: the tab's history entry carries a mark
 * (no token, no secret: `{hostedSession: true}`), and a page loaded with it goes straight back
 * to `/oauth2/authorize`, which returns at once with a new code while the hosted UI's own
 * session lasts (docs/frontend.md, "Reloading").
 *
 * Either way the ID token lives in this module's memory only (never in storage, so another
 * script or a shared computer cannot pick it up later), the page holds no AWS credentials and
 * never makes a JWT: it only reads the token's claims to show who is signed in and when the
 * session ends. The API checks the token; nothing here is a security decision about it.
 *
 * @module auth
 */

import { HOSTED_UI_FLOW, PASSWORD_FLOW } from "./config.js";
import {
  AuthorizationError,
  StateMismatchError,
  acceptCallback,
  authorizeUrl,
  base64UrlDecodeText,
  createChallenge,
  createState,
  createVerifier,
  parseCallback,
  tokenRequestBody,
} from "./pkce.js";

/** @typedef {import("./config.js").AppConfig} AppConfig */
/** @typedef {import("./pkce.js").PendingSignIn} PendingSignIn */

/** The sessionStorage key of the sign-in in flight (verifier, state, redirect URI, start time). */
export const PENDING_SIGN_IN_KEY = "asset-uploads:pending-sign-in";

/** A token this close to its expiry is treated as expired, so a request does not die in flight. */
const EXPIRY_MARGIN_MS = 30_000;
const REQUEST_TIMEOUT_MS = 15_000;

/**
 * Why a sign-in failed, in words for the person and a stable `code` for the page:
 * `invalid_credentials`, `throttled`, `password_reset_required`, `not_confirmed`,
 * `unsupported_challenge`, `state_mismatch`, `denied`, `token_exchange`, `network`, `failed`.
 */
export class AuthError extends Error {
  /**
   * @param {string} message
   * @param {string} code
   */
  constructor(message, code) {
    super(message);
    this.name = "AuthError";
    this.code = code;
  }
}

/**
 * @typedef {object} User who is signed in, as the ID token says
 * @property {string} email
 * @property {string} subject the `sub` claim
 * @property {number} expiresAt epoch milliseconds
 */

/**
 * @typedef {"signed-in" | "signed-out" | "expired"} SessionChange
 */

/**
 * @typedef {object} AuthDeps what the session talks to; the browser's by default
 * @property {typeof fetch} fetch
 * @property {Pick<Storage, "getItem" | "setItem" | "removeItem">} storage sessionStorage
 * @property {() => number} now epoch milliseconds
 * @property {(url: string) => void} navigate leave the page for `url`
 * @property {(url: string) => void} replaceUrl change the address bar without loading
 * @property {() => boolean} [hasSessionMark] whether this tab's history entry says it was signed in (hosted UI)
 * @property {(signedIn: boolean) => void} [setSessionMark] set or clear that mark
 */

/** @returns {AuthDeps} */
function browserDeps() {
  return {
    fetch: (input, init) => globalThis.fetch(input, init),
    storage: globalThis.sessionStorage,
    now: () => Date.now(),
    navigate: (url) => globalThis.location.assign(url),
    replaceUrl: (url) => globalThis.history.replaceState(null, "", url),
    // history.state survives a reload of the same entry, and holds no secret: just a flag.
    hasSessionMark: () => globalThis.history.state?.hostedSession === true,
    setSessionMark: (signedIn) =>
      globalThis.history.replaceState(signedIn ? { hostedSession: true } : null, "", globalThis.location.href),
  };
}

/**
 * Read an ID token's claims for display. Not a verification: the API verifies the signature.
 * @param {string} idToken
 * @returns {User}
 */
export function readIdTokenClaims(idToken) {
  const parts = idToken.split(".");
  if (parts.length !== 3) throw new AuthError("the sign-in service sent something that is not a token", "failed");
  /** @type {Record<string, unknown>} */
  let claims;
  try {
    claims = JSON.parse(base64UrlDecodeText(parts[1]));
  } catch {
    throw new AuthError("the sign-in service sent a token that cannot be read", "failed");
  }
  if (typeof claims.exp !== "number") throw new AuthError("the sign-in token has no expiry", "failed");
  return {
    email: typeof claims.email === "string" ? claims.email : String(claims["cognito:username"] ?? "you"),
    subject: String(claims.sub ?? ""),
    expiresAt: claims.exp * 1000,
  };
}

/**
 * The redirect URI for this page: its origin and path, without `index.html`, query or
 * fragment, so it matches the callback URL registered on the app client.
 * @param {string} pageUrl e.g. `location.href`
 * @returns {string}
 */
export function redirectUriFor(pageUrl) {
  const url = new URL(pageUrl);
  return url.origin + url.pathname.replace(/index\.html$/, "");
}

/**
 * The signed-in state of this tab and the ways to change it.
 */
export class Session {
  /** @type {string | null} */
  #idToken = null;
  /** @type {User | null} */
  #user = null;
  /** @type {Set<(user: User | null, change: SessionChange) => void>} */
  #listeners = new Set();
  #config;
  #deps;

  /**
   * @param {Readonly<AppConfig>} config
   * @param {AuthDeps} [deps]
   */
  constructor(config, deps = browserDeps()) {
    this.#config = config;
    this.#deps = deps;
  }

  /** Which sign-in this page offers: `HOSTED_UI` or `USER_PASSWORD_AUTH`. */
  get flow() {
    return this.#config.authFlow;
  }

  /** Who is signed in, or null. */
  get user() {
    return this.#user;
  }

  /**
   * Be told when someone signs in or out, or the session expires.
   * @param {(user: User | null, change: SessionChange) => void} listener
   * @returns {() => void} unsubscribe
   */
  onChange(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The ID token for `Authorization: Bearer`, or null when signed out. An expired token ends
   * the session (listeners hear `expired`) instead of being sent.
   * @returns {string | null}
   */
  idToken() {
    if (this.#user && this.#deps.now() >= this.#user.expiresAt - EXPIRY_MARGIN_MS) this.expire();
    return this.#idToken;
  }

  /** End the session because the API refused its token or it ran out; listeners hear `expired`. */
  expire() {
    if (!this.#idToken) return;
    this.#clear("expired");
  }

  /**
   * `USER_PASSWORD_AUTH`: sign in with e-mail and password through Cognito `InitiateAuth`.
   * @param {string} email
   * @param {string} password
   * @returns {Promise<User>}
   * @throws {AuthError}
   */
  async signInWithPassword(email, password) {
    const config = this.#config;
    if (config.authFlow !== PASSWORD_FLOW || !config.cognitoEndpoint) {
      throw new AuthError("this page signs in through the hosted sign-in page", "failed");
    }
    const body = await this.#post(
      `${config.cognitoEndpoint}/`,
      {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
      },
      JSON.stringify({
        AuthFlow: PASSWORD_FLOW,
        ClientId: config.userPoolClientId,
        AuthParameters: { USERNAME: email, PASSWORD: password },
      }),
      cognitoError,
    );
    if (typeof body.ChallengeName === "string") {
      throw new AuthError(
        `This account needs a further sign-in step (${body.ChallengeName}) that this page does not offer.`,
        "unsupported_challenge",
      );
    }
    const idToken = body.AuthenticationResult?.IdToken;
    if (typeof idToken !== "string") throw new AuthError("The sign-in service sent no token.", "failed");
    return this.#accept(idToken);
  }

  /**
   * `HOSTED_UI`: remember a fresh verifier and state for this tab, then go to the hosted UI.
   * @param {string} redirectUri from {@link redirectUriFor}
   * @returns {Promise<void>}
   */
  async beginHostedSignIn(redirectUri) {
    const { hostedUiUrl, userPoolClientId } = this.#hostedUi();
    const verifier = createVerifier();
    const state = createState();
    /** @type {PendingSignIn} */
    const pending = { state, verifier, redirectUri, startedAt: this.#deps.now() };
    this.#deps.storage.setItem(PENDING_SIGN_IN_KEY, JSON.stringify(pending));
    const challenge = await createChallenge(verifier);
    this.#deps.navigate(authorizeUrl({ hostedUiUrl, clientId: userPoolClientId, redirectUri, challenge, state }));
  }

  /**
   * `HOSTED_UI`: after a reload of a signed-in tab, go back to the hosted UI for a new code
   * (it answers at once while its session lasts, else it asks for the password). The mark is
   * cleared first, so a failure on the way cannot loop.
   * @param {string} pageUrl e.g. `location.href`
   * @param {string} redirectUri from {@link redirectUriFor}
   * @returns {Promise<boolean>} true when the page is leaving for the hosted UI
   */
  async resumeHostedSession(pageUrl, redirectUri) {
    if (this.#config.authFlow !== HOSTED_UI_FLOW || this.#user) return false;
    if (parseCallback(new URL(pageUrl).search)) return false;
    if (!this.#deps.hasSessionMark?.()) return false;
    this.#deps.setSessionMark?.(false);
    await this.beginHostedSignIn(redirectUri);
    return true;
  }

  /**
   * `HOSTED_UI`: if `pageUrl` is the hosted UI's callback, check it and exchange its code.
   * The pending sign-in is removed and the code taken off the address bar first, so neither can
   * be used twice, whatever happens next.
   * @param {string} pageUrl e.g. `location.href`
   * @returns {Promise<User | null>} null when the page was not opened by a callback
   * @throws {AuthError}
   */
  async completeHostedSignIn(pageUrl) {
    if (this.#config.authFlow !== HOSTED_UI_FLOW) return null;
    const url = new URL(pageUrl);
    const callback = parseCallback(url.search);
    if (!callback) return null;
    const pending = this.#takePending();
    this.#deps.replaceUrl(pending?.redirectUri ?? redirectUriFor(pageUrl));
    let exchange;
    try {
      exchange = acceptCallback(pending, callback, this.#deps.now());
    } catch (error) {
      if (error instanceof StateMismatchError) {
        throw new AuthError(`Sign-in refused: ${error.message}. Please sign in again.`, "state_mismatch");
      }
      if (error instanceof AuthorizationError) {
        const denied = error.code === "access_denied";
        throw new AuthError(
          denied ? "Sign-in was cancelled." : `The sign-in page reported a problem: ${error.message}.`,
          denied ? "denied" : "failed",
        );
      }
      throw error;
    }
    const { hostedUiUrl, userPoolClientId } = this.#hostedUi();
    const body = await this.#post(
      `${hostedUiUrl}/oauth2/token`,
      { "Content-Type": "application/x-www-form-urlencoded" },
      tokenRequestBody({ clientId: userPoolClientId, ...exchange }).toString(),
      tokenError,
    );
    if (typeof body.id_token !== "string")
      throw new AuthError("The sign-in service sent no ID token.", "token_exchange");
    return this.#accept(body.id_token);
  }

  /**
   * Forget the token. With the hosted UI, also end its session (it would sign the user straight
   * back in otherwise) by going to its `/logout`, which returns to `redirectUri`.
   * @param {string} redirectUri
   */
  signOut(redirectUri) {
    const hadSession = this.#idToken !== null;
    this.#clear("signed-out");
    if (this.#config.authFlow === HOSTED_UI_FLOW && hadSession) {
      const { hostedUiUrl, userPoolClientId } = this.#hostedUi();
      const logout = new URL("/logout", hostedUiUrl);
      logout.search = new URLSearchParams({ client_id: userPoolClientId, logout_uri: redirectUri }).toString();
      this.#deps.navigate(logout.toString());
    }
  }

  /** @returns {{hostedUiUrl: string, userPoolClientId: string}} */
  #hostedUi() {
    const { hostedUiUrl, userPoolClientId, authFlow } = this.#config;
    if (authFlow !== HOSTED_UI_FLOW || !hostedUiUrl) {
      throw new AuthError("this page signs in with e-mail and password", "failed");
    }
    return { hostedUiUrl, userPoolClientId };
  }

  /** @returns {PendingSignIn | null} */
  #takePending() {
    const stored = this.#deps.storage.getItem(PENDING_SIGN_IN_KEY);
    this.#deps.storage.removeItem(PENDING_SIGN_IN_KEY);
    if (!stored) return null;
    try {
      const pending = JSON.parse(stored);
      return pending && typeof pending === "object" ? pending : null;
    } catch {
      return null;
    }
  }

  /**
   * @param {string} idToken
   * @returns {User}
   */
  #accept(idToken) {
    const user = readIdTokenClaims(idToken);
    if (user.expiresAt - EXPIRY_MARGIN_MS <= this.#deps.now()) {
      throw new AuthError(
        "The sign-in service sent a token that has already expired. Check this device's clock.",
        "failed",
      );
    }
    this.#idToken = idToken;
    this.#user = user;
    if (this.#config.authFlow === HOSTED_UI_FLOW) this.#deps.setSessionMark?.(true);
    this.#notify("signed-in");
    return user;
  }

  /** @param {SessionChange} change */
  #clear(change) {
    this.#idToken = null;
    this.#user = null;
    if (this.#config.authFlow === HOSTED_UI_FLOW) this.#deps.setSessionMark?.(false);
    this.#notify(change);
  }

  /** @param {SessionChange} change */
  #notify(change) {
    for (const listener of this.#listeners) listener(this.#user, change);
  }

  /**
   * POST to a sign-in endpoint; a refusal becomes an AuthError through `describe`.
   * @param {string} url
   * @param {Record<string, string>} headers
   * @param {string} body
   * @param {(status: number, body: any) => AuthError} describe
   * @returns {Promise<any>}
   */
  async #post(url, headers, body, describe) {
    let response;
    try {
      response = await this.#deps.fetch(url, {
        method: "POST",
        headers,
        body,
        // Cookies are not how this page authenticates; sending none keeps it that way.
        credentials: "omit",
        cache: "no-store",
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch {
      throw new AuthError("Cannot reach the sign-in service. Check your connection and try again.", "network");
    }
    /** @type {any} */
    let parsed = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    if (!response.ok) throw describe(response.status, parsed);
    if (parsed === null || typeof parsed !== "object") {
      throw new AuthError("The sign-in service sent an answer this page cannot read.", "failed");
    }
    return parsed;
  }
}

/**
 * Cognito's JSON-protocol error (`{"__type", "message"}`) in the user's words.
 * @param {number} status
 * @param {any} body
 * @returns {AuthError}
 */
export function cognitoError(status, body) {
  const type = String(body?.__type ?? "")
    .split("#")
    .pop();
  const message = typeof body?.message === "string" ? body.message : "";
  switch (type) {
    case "NotAuthorizedException":
      if (/attempts exceeded/i.test(message)) {
        return new AuthError("Too many failed attempts. Wait a few minutes, then try again.", "throttled");
      }
      return new AuthError("That e-mail and password do not match an account.", "invalid_credentials");
    case "UserNotFoundException":
      // The same words as a wrong password, so the page does not say which accounts exist.
      return new AuthError("That e-mail and password do not match an account.", "invalid_credentials");
    case "PasswordResetRequiredException":
      return new AuthError("This account needs a new password before it can sign in.", "password_reset_required");
    case "UserNotConfirmedException":
      return new AuthError("This account is not confirmed yet.", "not_confirmed");
    case "TooManyRequestsException":
    case "LimitExceededException":
      return new AuthError("Too many sign-in attempts. Wait a moment, then try again.", "throttled");
    default:
      return new AuthError(`Sign-in failed (${type || `HTTP ${status}`}). Try again.`, "failed");
  }
}

/**
 * The token endpoint's OAuth error (`{"error"}`) in the user's words.
 * @param {number} status
 * @param {any} body
 * @returns {AuthError}
 */
export function tokenError(status, body) {
  const error = typeof body?.error === "string" ? body.error : `HTTP ${status}`;
  return new AuthError(`The sign-in could not be completed (${error}). Please sign in again.`, "token_exchange");
}
