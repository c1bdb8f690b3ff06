// The PKCE and authorization-code helpers the page uses, imported from the page's own module.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  AuthorizationError,
  PENDING_SIGN_IN_MAX_AGE_MS,
  StateMismatchError,
  VERIFIER_PATTERN,
  acceptCallback,
  assertStateMatches,
  authorizeUrl,
  base64UrlDecodeText,
  base64UrlEncode,
  createChallenge,
  createState,
  createVerifier,
  parseCallback,
  tokenRequestBody,
} from "../../site/js/pkce.js";

// RFC 7636, Appendix B.
const RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const UNRESERVED = /^[A-Za-z0-9\-._~]+$/;

describe("code verifier", () => {
  test("has the default length of 64 and only unreserved characters", () => {
    const verifier = createVerifier();
    assert.equal(verifier.length, 64);
    assert.match(verifier, UNRESERVED);
    assert.match(verifier, VERIFIER_PATTERN);
  });

  test("takes any length RFC 7636 allows, 43 to 128", () => {
    for (const length of [43, 44, 45, 46, 100, 127, 128]) {
      const verifier = createVerifier(length);
      assert.equal(verifier.length, length, `length ${length}`);
      assert.match(verifier, UNRESERVED);
    }
  });

  test("refuses lengths outside 43..128", () => {
    for (const length of [0, 42, 129, 64.5, Number.NaN]) {
      assert.throws(() => createVerifier(length), RangeError, `length ${length}`);
    }
  });

  test("is fresh every time and uses the whole alphabet", () => {
    const verifiers = Array.from({ length: 200 }, () => createVerifier());
    assert.equal(new Set(verifiers).size, verifiers.length);
    // 200 x 64 random base64url characters: each of the 64 symbols turns up.
    const seen = new Set(verifiers.join(""));
    assert.equal(seen.size, 64);
  });
});

describe("S256 challenge", () => {
  test("matches the RFC 7636 Appendix B example", async () => {
    assert.equal(await createChallenge(RFC_VERIFIER), RFC_CHALLENGE);
  });

  test("is base64url without padding, 43 characters", async () => {
    const challenge = await createChallenge(createVerifier(128));
    assert.equal(challenge.length, 43);
    assert.match(challenge, /^[A-Za-z0-9_-]+$/);
  });

  test("refuses something that is not a verifier", async () => {
    await assert.rejects(createChallenge("too-short"), RangeError);
    await assert.rejects(createChallenge(`${RFC_VERIFIER}+/=`), RangeError);
  });
});

describe("base64url", () => {
  test("encodes the RFC 7636 octets of Appendix B", () => {
    const octets = new Uint8Array([
      116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191, 240,
      91, 88, 5, 88, 83, 132, 141, 121,
    ]);
    assert.equal(base64UrlEncode(octets), RFC_VERIFIER);
  });

  test("round-trips UTF-8 text without padding", () => {
    const text = JSON.stringify({ email: "zoë@example.com", n: "?>?" });
    const encoded = base64UrlEncode(new TextEncoder().encode(text));
    assert.doesNotMatch(encoded, /[+/=]/);
    assert.equal(base64UrlDecodeText(encoded), text);
  });
});

describe("state", () => {
  test("is 256 random bits, base64url", () => {
    const state = createState();
    assert.equal(state.length, 43);
    assert.match(state, /^[A-Za-z0-9_-]+$/);
    assert.notEqual(createState(), state);
  });

  test("a matching state passes", () => {
    const state = createState();
    assert.doesNotThrow(() => assertStateMatches(state, `${state}`));
  });

  test("a different, missing or unexpected state is refused", () => {
    const state = createState();
    assert.throws(() => assertStateMatches(state, createState()), StateMismatchError);
    assert.throws(() => assertStateMatches(state, state.slice(0, -1)), StateMismatchError);
    assert.throws(() => assertStateMatches(state, `${state}x`), StateMismatchError);
    assert.throws(() => assertStateMatches(state, null), StateMismatchError);
    assert.throws(() => assertStateMatches(state, ""), StateMismatchError);
    assert.throws(() => assertStateMatches(null, state), StateMismatchError);
    assert.throws(() => assertStateMatches(undefined, undefined), StateMismatchError);
  });
});

describe("authorize URL and token request", () => {
  test("the authorize URL asks for a code with an S256 challenge", () => {
    const url = new URL(
      authorizeUrl({
        hostedUiUrl: "https://example.auth.eu-west-1.amazoncognito.com",
        clientId: "client123",
        redirectUri: "https://d111.cloudfront.net/",
        challenge: RFC_CHALLENGE,
        state: "state-1",
      }),
    );
    assert.equal(url.origin + url.pathname, "https://example.auth.eu-west-1.amazoncognito.com/oauth2/authorize");
    assert.deepEqual(Object.fromEntries(url.searchParams), {
      response_type: "code",
      client_id: "client123",
      redirect_uri: "https://d111.cloudfront.net/",
      scope: "openid email",
      state: "state-1",
      code_challenge: RFC_CHALLENGE,
      code_challenge_method: "S256",
    });
  });

  test("the token request carries the code and the verifier", () => {
    const body = tokenRequestBody({
      clientId: "c",
      code: "the-code",
      redirectUri: "https://x/",
      verifier: RFC_VERIFIER,
    });
    assert.equal(
      body.toString(),
      `grant_type=authorization_code&client_id=c&code=the-code&redirect_uri=https%3A%2F%2Fx%2F&code_verifier=${RFC_VERIFIER}`,
    );
  });
});

describe("callback", () => {
  const now = 1_800_000_000_000;
  const pending = {
    state: "s-123",
    verifier: RFC_VERIFIER,
    redirectUri: "https://d111.cloudfront.net/",
    startedAt: now - 5_000,
  };

  test("an ordinary page URL is not a callback", () => {
    assert.equal(parseCallback(""), null);
    assert.equal(parseCallback("?page=2"), null);
  });

  test("a callback with the pending state gives what the token request needs", () => {
    const callback = parseCallback("?code=abc&state=s-123");
    assert.deepEqual(acceptCallback(pending, callback, now), {
      code: "abc",
      verifier: RFC_VERIFIER,
      redirectUri: "https://d111.cloudfront.net/",
    });
  });

  test("a callback with another state is refused", () => {
    assert.throws(() => acceptCallback(pending, parseCallback("?code=abc&state=s-999"), now), StateMismatchError);
    assert.throws(() => acceptCallback(pending, parseCallback("?code=abc"), now), StateMismatchError);
  });

  test("a callback this tab did not start is refused", () => {
    assert.throws(() => acceptCallback(null, parseCallback("?code=abc&state=s-123"), now), StateMismatchError);
  });

  test("a callback after the pending sign-in went stale is refused", () => {
    const stale = { ...pending, startedAt: now - PENDING_SIGN_IN_MAX_AGE_MS - 1 };
    assert.throws(() => acceptCallback(stale, parseCallback("?code=abc&state=s-123"), now), StateMismatchError);
  });

  test("an OAuth error is reported, but only with the right state", () => {
    const denied = parseCallback("?error=access_denied&error_description=User+cancelled&state=s-123");
    assert.throws(
      () => acceptCallback(pending, denied, now),
      (error) =>
        error instanceof AuthorizationError && error.code === "access_denied" && error.message === "User cancelled",
    );
    const forged = parseCallback("?error=access_denied&state=nope");
    assert.throws(() => acceptCallback(pending, forged, now), StateMismatchError);
  });
});
