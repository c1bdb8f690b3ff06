// Sign-in as the page does it, with fetch, sessionStorage and navigation faked.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { AuthError, PENDING_SIGN_IN_KEY, Session, readIdTokenClaims, redirectUriFor } from "../../site/js/auth.js";
import { createChallenge } from "../../site/js/pkce.js";
import { fakeIdToken, hostedConfig, json, localConfig, memoryStorage, scriptedFetch } from "./support.mjs";

const NOW = 1_800_000_000_000;
const validToken = (email = "ann@example.com") =>
  fakeIdToken({ sub: "sub-1", email, exp: Math.floor(NOW / 1000) + 3600, token_use: "id" });

function session(config, fetch, overrides = {}) {
  const navigations = [];
  const replaced = [];
  const deps = {
    fetch,
    storage: memoryStorage(),
    now: () => NOW,
    navigate: (url) => navigations.push(url),
    replaceUrl: (url) => replaced.push(url),
    ...overrides,
  };
  return { session: new Session(config, deps), deps, navigations, replaced };
}

describe("redirect URI", () => {
  test("is the page's origin and path, without index.html, query or fragment", () => {
    assert.equal(redirectUriFor("https://d111.cloudfront.net/?code=x&state=y#top"), "https://d111.cloudfront.net/");
    assert.equal(redirectUriFor("https://d111.cloudfront.net/index.html"), "https://d111.cloudfront.net/");
    assert.equal(redirectUriFor("https://example.com/app/index.html?x=1"), "https://example.com/app/");
  });
});

describe("ID token claims", () => {
  test("are read for display: e-mail, subject, expiry", () => {
    assert.deepEqual(readIdTokenClaims(validToken()), {
      email: "ann@example.com",
      subject: "sub-1",
      expiresAt: NOW + 3_600_000,
    });
  });

  test("something that is not a JWT is refused", () => {
    assert.throws(() => readIdTokenClaims("not-a-token"), AuthError);
    assert.throws(() => readIdTokenClaims("a.!!!.c"), AuthError);
    assert.throws(() => readIdTokenClaims(fakeIdToken({ sub: "x" })), AuthError);
  });
});

describe("e-mail and password (local)", () => {
  test("InitiateAuth is sent to the local Cognito and the ID token kept in memory", async () => {
    const { fetch, calls } = scriptedFetch(
      json(200, { AuthenticationResult: { IdToken: validToken(), AccessToken: "a", RefreshToken: "r" } }),
    );
    const { session: auth, deps } = session(localConfig, fetch);
    const changes = [];
    auth.onChange((user, change) => changes.push([user?.email ?? null, change]));

    const user = await auth.signInWithPassword("ann@example.com", "Secret-Passw0rd!");

    assert.equal(user.email, "ann@example.com");
    assert.equal(auth.idToken(), validToken());
    assert.deepEqual(changes, [["ann@example.com", "signed-in"]]);
    assert.equal(calls.length, 1);
    const [{ url, init }] = calls;
    assert.equal(url, "http://127.0.0.1:8702/");
    assert.equal(init.method, "POST");
    assert.equal(init.credentials, "omit");
    assert.deepEqual(init.headers, {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
    });
    assert.deepEqual(JSON.parse(init.body), {
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: "client-1",
      AuthParameters: { USERNAME: "ann@example.com", PASSWORD: "Secret-Passw0rd!" },
    });
    // Nothing of the session is stored.
    assert.equal(deps.storage.items.size, 0);
  });

  test("a wrong password and an unknown user get the same words", async () => {
    for (const type of ["NotAuthorizedException", "UserNotFoundException"]) {
      const { fetch } = scriptedFetch(json(400, { __type: type, message: "Incorrect username or password." }));
      const { session: auth } = session(localConfig, fetch);
      await assert.rejects(auth.signInWithPassword("a@example.com", "x"), (error) => {
        assert.ok(error instanceof AuthError);
        assert.equal(error.code, "invalid_credentials");
        assert.equal(error.message, "That e-mail and password do not match an account.");
        return true;
      });
      assert.equal(auth.user, null);
    }
  });

  test("throttling, challenges and network loss are told apart", async () => {
    const cases = [
      [json(400, { __type: "TooManyRequestsException", message: "slow down" }), "throttled"],
      [json(400, { __type: "NotAuthorizedException", message: "Password attempts exceeded" }), "throttled"],
      [json(400, { __type: "PasswordResetRequiredException", message: "reset" }), "password_reset_required"],
      [json(200, { ChallengeName: "NEW_PASSWORD_REQUIRED", Session: "s" }), "unsupported_challenge"],
      [new TypeError("Failed to fetch"), "network"],
      [new Response("<html>bad gateway</html>", { status: 502 }), "failed"],
    ];
    for (const [answer, code] of cases) {
      const { fetch } = scriptedFetch(answer);
      const { session: auth } = session(localConfig, fetch);
      await assert.rejects(
        auth.signInWithPassword("a@example.com", "x"),
        (error) => error instanceof AuthError && error.code === code,
      );
    }
  });

  test("an expired token ends the session instead of being sent", async () => {
    let now = NOW;
    const { fetch } = scriptedFetch(json(200, { AuthenticationResult: { IdToken: validToken() } }));
    const { session: auth } = session(localConfig, fetch, { now: () => now });
    const changes = [];
    auth.onChange((_, change) => changes.push(change));
    await auth.signInWithPassword("ann@example.com", "pw");
    now = NOW + 3_600_000;
    assert.equal(auth.idToken(), null);
    assert.equal(auth.user, null);
    assert.deepEqual(changes, ["signed-in", "expired"]);
  });

  test("sign-out forgets the token without leaving the page", async () => {
    const { fetch } = scriptedFetch(json(200, { AuthenticationResult: { IdToken: validToken() } }));
    const { session: auth, navigations } = session(localConfig, fetch);
    await auth.signInWithPassword("ann@example.com", "pw");
    auth.signOut("http://127.0.0.1:8700/");
    assert.equal(auth.idToken(), null);
    assert.deepEqual(navigations, []);
  });
});

describe("hosted UI with PKCE (AWS)", () => {
  test("sign-in stores only state, verifier and redirect URI, then goes to /oauth2/authorize", async () => {
    const { fetch, calls } = scriptedFetch();
    const { session: auth, deps, navigations } = session(hostedConfig, fetch);

    await auth.beginHostedSignIn("https://d111.cloudfront.net/");

    assert.equal(calls.length, 0);
    const pending = JSON.parse(deps.storage.getItem(PENDING_SIGN_IN_KEY));
    assert.deepEqual(Object.keys(pending).sort(), ["redirectUri", "startedAt", "state", "verifier"]);
    assert.equal(navigations.length, 1);
    const url = new URL(navigations[0]);
    assert.equal(url.origin, hostedConfig.hostedUiUrl);
    assert.equal(url.pathname, "/oauth2/authorize");
    assert.equal(url.searchParams.get("state"), pending.state);
    assert.equal(url.searchParams.get("code_challenge"), await createChallenge(pending.verifier));
    assert.equal(url.searchParams.get("code_challenge_method"), "S256");
    assert.equal(url.searchParams.get("redirect_uri"), "https://d111.cloudfront.net/");
    // The verifier itself never leaves the browser before the token request.
    assert.ok(!navigations[0].includes(pending.verifier));
  });

  async function returnFromHostedUi(callbackQuery, answers) {
    const { fetch, calls } = scriptedFetch(...answers);
    const ctx = session(hostedConfig, fetch);
    await ctx.session.beginHostedSignIn("https://d111.cloudfront.net/");
    const pending = JSON.parse(ctx.deps.storage.getItem(PENDING_SIGN_IN_KEY));
    const query = callbackQuery(pending);
    return {
      ...ctx,
      calls,
      pending,
      result: ctx.session.completeHostedSignIn(`https://d111.cloudfront.net/?${query}`),
    };
  }

  test("the callback's code is exchanged with the verifier, and the URL and storage cleaned", async () => {
    const {
      result,
      calls,
      pending,
      deps,
      replaced,
      session: auth,
    } = await returnFromHostedUi(
      (pending) => `code=the-code&state=${pending.state}`,
      [
        json(200, {
          id_token: validToken(),
          access_token: "a",
          refresh_token: "r",
          expires_in: 3600,
          token_type: "Bearer",
        }),
      ],
    );
    const user = await result;

    assert.equal(user.email, "ann@example.com");
    assert.equal(auth.idToken(), validToken());
    assert.equal(deps.storage.getItem(PENDING_SIGN_IN_KEY), null);
    assert.deepEqual(replaced, ["https://d111.cloudfront.net/"]);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].url, `${hostedConfig.hostedUiUrl}/oauth2/token`);
    assert.equal(calls[0].init.headers["Content-Type"], "application/x-www-form-urlencoded");
    assert.deepEqual(Object.fromEntries(new URLSearchParams(calls[0].init.body)), {
      grant_type: "authorization_code",
      client_id: "client-1",
      code: "the-code",
      redirect_uri: "https://d111.cloudfront.net/",
      code_verifier: pending.verifier,
    });
  });

  test("a callback with another state is refused before any token request", async () => {
    const {
      result,
      calls,
      deps,
      replaced,
      session: auth,
    } = await returnFromHostedUi(() => "code=stolen&state=not-ours", []);
    await assert.rejects(result, (error) => error instanceof AuthError && error.code === "state_mismatch");
    assert.equal(calls.length, 0);
    assert.equal(auth.user, null);
    // The pending sign-in is spent either way: a second try with the right state fails too.
    assert.equal(deps.storage.getItem(PENDING_SIGN_IN_KEY), null);
    assert.deepEqual(replaced, ["https://d111.cloudfront.net/"]);
  });

  test("a code the token endpoint refuses is reported", async () => {
    const { result } = await returnFromHostedUi(
      (p) => `code=old&state=${p.state}`,
      [json(400, { error: "invalid_grant" })],
    );
    await assert.rejects(
      result,
      (error) => error instanceof AuthError && error.code === "token_exchange" && /invalid_grant/.test(error.message),
    );
  });

  test("a cancelled sign-in says so", async () => {
    const { result, calls } = await returnFromHostedUi((p) => `error=access_denied&state=${p.state}`, []);
    await assert.rejects(result, (error) => error instanceof AuthError && error.code === "denied");
    assert.equal(calls.length, 0);
  });

  test("a page opened without a callback does nothing", async () => {
    const { fetch, calls } = scriptedFetch();
    const { session: auth, replaced } = session(hostedConfig, fetch);
    assert.equal(await auth.completeHostedSignIn("https://d111.cloudfront.net/"), null);
    assert.equal(calls.length, 0);
    assert.deepEqual(replaced, []);
  });

  test("sign-out also ends the hosted UI session", async () => {
    const {
      result,
      navigations,
      session: auth,
    } = await returnFromHostedUi((p) => `code=c&state=${p.state}`, [json(200, { id_token: validToken() })]);
    await result;
    auth.signOut("https://d111.cloudfront.net/");
    assert.equal(auth.idToken(), null);
    const logout = new URL(navigations.at(-1));
    assert.equal(logout.origin + logout.pathname, `${hostedConfig.hostedUiUrl}/logout`);
    assert.equal(logout.searchParams.get("client_id"), "client-1");
    assert.equal(logout.searchParams.get("logout_uri"), "https://d111.cloudfront.net/");
  });
});

describe("a reload with the hosted UI (AWS)", () => {
  /** A history entry's mark, as `history.state` keeps it across a reload. */
  function markedHistory(initially) {
    const history = { marked: initially, changes: [] };
    return {
      history,
      overrides: {
        hasSessionMark: () => history.marked,
        setSessionMark: (signedIn) => {
          history.marked = signedIn;
          history.changes.push(signedIn);
        },
      },
    };
  }

  test("signing in marks the tab, with no token in storage or history", async () => {
    const { history, overrides } = markedHistory(false);
    const { fetch } = scriptedFetch(json(200, { id_token: validToken(), refresh_token: "r" }));
    const { session: auth, deps } = session(hostedConfig, fetch, overrides);
    await auth.beginHostedSignIn("https://d111.cloudfront.net/");
    const pending = JSON.parse(deps.storage.getItem(PENDING_SIGN_IN_KEY));
    await auth.completeHostedSignIn(`https://d111.cloudfront.net/?code=c&state=${pending.state}`);
    assert.equal(history.marked, true);
    assert.equal(deps.storage.items.size, 0);
  });

  test("a marked tab goes back to /oauth2/authorize with a fresh PKCE sign-in, clearing the mark first", async () => {
    const { history, overrides } = markedHistory(true);
    const { fetch, calls } = scriptedFetch();
    const { session: auth, deps, navigations } = session(hostedConfig, fetch, overrides);
    const leaving = await auth.resumeHostedSession("https://d111.cloudfront.net/", "https://d111.cloudfront.net/");
    assert.equal(leaving, true);
    // Cleared before leaving: if the hosted UI fails, the next load shows the sign-in, no loop.
    assert.deepEqual(history.changes, [false]);
    assert.equal(calls.length, 0);
    const authorize = new URL(navigations.at(-1));
    assert.equal(authorize.origin + authorize.pathname, `${hostedConfig.hostedUiUrl}/oauth2/authorize`);
    const pending = JSON.parse(deps.storage.getItem(PENDING_SIGN_IN_KEY));
    assert.equal(authorize.searchParams.get("state"), pending.state);
    assert.equal(authorize.searchParams.get("code_challenge"), await createChallenge(pending.verifier));
  });

  test("an unmarked tab, a callback, or the local flow do not leave the page", async () => {
    const unmarked = session(hostedConfig, scriptedFetch().fetch, markedHistory(false).overrides);
    assert.equal(await unmarked.session.resumeHostedSession("https://d111.cloudfront.net/", "https://d111.cloudfront.net/"), false);
    assert.deepEqual(unmarked.navigations, []);

    const callback = session(hostedConfig, scriptedFetch().fetch, markedHistory(true).overrides);
    const withCode = "https://d111.cloudfront.net/?code=c&state=s";
    assert.equal(await callback.session.resumeHostedSession(withCode, "https://d111.cloudfront.net/"), false);
    assert.deepEqual(callback.navigations, []);

    const local = session(localConfig, scriptedFetch().fetch, markedHistory(true).overrides);
    assert.equal(await local.session.resumeHostedSession("http://127.0.0.1:8700/", "http://127.0.0.1:8700/"), false);
    assert.deepEqual(local.navigations, []);
  });

  test("signing out clears the mark, so a reload after it asks for the password", async () => {
    const { history, overrides } = markedHistory(false);
    const { fetch } = scriptedFetch(json(200, { id_token: validToken() }));
    const { session: auth, deps } = session(hostedConfig, fetch, overrides);
    await auth.beginHostedSignIn("https://d111.cloudfront.net/");
    const pending = JSON.parse(deps.storage.getItem(PENDING_SIGN_IN_KEY));
    await auth.completeHostedSignIn(`https://d111.cloudfront.net/?code=c&state=${pending.state}`);
    auth.signOut("https://d111.cloudfront.net/");
    assert.equal(history.marked, false);
  });
});
