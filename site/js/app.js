// @ts-check
/**
 * The page: reads the configuration, signs the user in (hosted UI or e-mail/password, as
 * config.js says), then shows the upload queue, albums and "My images" with its viewer.
 * Signing out, or a session the API no longer accepts, returns to the sign-in view with a
 * message.
 *
 * @module app
 */

import { Albums } from "./albums.js";
import { ApiClient } from "./api.js";
import { AuthError, Session, redirectUriFor } from "./auth.js";
import { ConfigError, HOSTED_UI_FLOW, loadConfig } from "./config.js";
import { Gallery } from "./gallery.js";
import { Messages, byId, show } from "./ui.js";
import { UploadPanel } from "./upload-panel.js";
import { isPublishedUrl } from "./urls.js";
import { Viewer } from "./viewer.js";

/** @typedef {import("./auth.js").User} User */
/** @typedef {import("./auth.js").SessionChange} SessionChange */

/** Start the page. */
async function main() {
  const messages = new Messages();
  const views = {
    loading: byId("loading"),
    signedOut: byId("signed-out"),
    signedIn: byId("signed-in"),
    account: byId("account"),
  };

  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    show(views.loading, false);
    messages.alert(`This page is not set up correctly: ${error.message}`);
    return;
  }

  const session = new Session(config);
  const api = new ApiClient({
    baseUrl: config.apiBaseUrl,
    getToken: () => session.idToken(),
    onUnauthorized: () => session.expire(),
  });
  const isPublished = (/** @type {string} */ url) => isPublishedUrl(url, config.assetBaseUrl);
  /** @type {Gallery} */
  let gallery;
  /** @type {UploadPanel} */
  let uploads;
  const albums = new Albums({
    api,
    messages,
    onShow: () => {
      uploads.showTarget();
      void gallery.showFirstPage();
    },
    onChanged: () => uploads.showTarget(),
  });
  const viewer = new Viewer({
    albumName: (albumId) => albums.name(albumId),
    isPublished,
    reread: async (asset) => {
      try {
        return await api.getAsset(asset.assetId);
      } catch {
        return null;
      }
    },
  });
  gallery = new Gallery({ api, messages, pageSize: config.pageSize, assetBaseUrl: config.assetBaseUrl, albums, viewer });
  uploads = new UploadPanel({
    api,
    messages,
    maxUploadBytes: config.maxUploadBytes,
    currentAlbum: () => albums.current,
    isPublished,
    onFinished: (asset) => {
      // A ready image counts in its album: the album list shows the new count.
      if (asset.albumId && asset.status === "ready") void albums.load();
      void gallery.showFirstPage();
    },
  });
  const redirectUri = redirectUriFor(globalThis.location.href);
  const signIn = wireSignIn(session, messages, redirectUri);

  session.onChange((user, change) => {
    if (user) {
      showSignedIn(user);
    } else {
      uploads.reset();
      gallery.clear();
      albums.clear();
      showSignedOut(change);
    }
  });
  byId("sign-out").addEventListener("click", () => session.signOut(redirectUri));

  /** @param {User} user */
  function showSignedIn(user) {
    messages.clearAlert();
    byId("account-email").textContent = user.email;
    show(views.loading, false);
    show(views.signedOut, false);
    show(views.signedIn, true);
    show(views.account, true);
    document.title = "My images · Private uploads";
    byId("upload-heading").focus();
    messages.announce(`Signed in as ${user.email}.`);
    uploads.showTarget();
    void albums.load().then(() => {
      uploads.showTarget();
      return gallery.showFirstPage();
    });
  }

  /** @param {SessionChange | null} change */
  function showSignedOut(change) {
    show(views.loading, false);
    show(views.signedIn, false);
    show(views.account, false);
    show(views.signedOut, true);
    document.title = "Sign in · Private uploads";
    signIn.reset();
    if (change === "expired") messages.alert("Your session has ended. Sign in again to continue.");
    if (change === "signed-out") messages.announce("You are signed out.");
    if (change) signIn.focus();
  }

  try {
    if (await session.resumeHostedSession(globalThis.location.href, redirectUri)) {
      messages.announce("Restoring your session…");
      return;
    }
    await session.completeHostedSignIn(globalThis.location.href);
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    messages.alert(error.message);
  }
  if (!session.user) showSignedOut(null);
}

/**
 * Wire whichever sign-in config.js chose.
 * @param {Session} session
 * @param {Messages} messages
 * @param {string} redirectUri
 * @returns {{reset: () => void, focus: () => void}}
 */
function wireSignIn(session, messages, redirectUri) {
  if (session.flow === HOSTED_UI_FLOW) {
    const container = byId("hosted-sign-in");
    const button = byId("hosted-sign-in-button", HTMLButtonElement);
    show(container, true);
    button.addEventListener("click", async () => {
      button.disabled = true;
      messages.announce("Going to the sign-in page…");
      try {
        await session.beginHostedSignIn(redirectUri);
      } catch (error) {
        button.disabled = false;
        messages.alert(error instanceof AuthError ? error.message : "Sign-in could not start. Try again.");
      }
    });
    return { reset: () => (button.disabled = false), focus: () => button.focus() };
  }

  const form = byId("password-sign-in", HTMLFormElement);
  const email = byId("email", HTMLInputElement);
  const password = byId("password", HTMLInputElement);
  const submit = byId("sign-in-button", HTMLButtonElement);
  const error = byId("sign-in-error");
  show(form, true);

  /** @param {string} text */
  const setError = (text) => {
    error.textContent = text;
    for (const input of [email, password]) {
      if (text) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", error.id);
      } else {
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      }
    }
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setError("");
    messages.clearAlert();
    submit.disabled = true;
    submit.textContent = "Signing in…";
    try {
      await session.signInWithPassword(email.value.trim(), password.value);
    } catch (failure) {
      setError(failure instanceof AuthError ? failure.message : "Sign-in failed. Try again.");
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = "Sign in";
      password.value = "";
    }
  });
  return {
    reset: () => {
      setError("");
      password.value = "";
    },
    focus: () => (email.value ? password : email).focus(),
  };
}

main().catch((error) => {
  console.error(error);
  const alert = document.getElementById("alert-text");
  if (alert) alert.textContent = "The page failed to start. Reload it to try again.";
});
