// The API client: requests as the OpenAPI document describes them, errors as {"error","code"}.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ApiClient, ApiError, describeApiError } from "../../site/js/api.js";
import { json, scriptedFetch } from "./support.mjs";

const asset = {
  assetId: "a1",
  status: "uploading",
  contentType: "image/png",
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
};

function client(answers, { token = "id-token" } = {}) {
  const { fetch, calls } = scriptedFetch(...answers);
  let unauthorized = 0;
  const api = new ApiClient({
    baseUrl: "https://api.example.com",
    getToken: () => token,
    onUnauthorized: () => (unauthorized += 1),
    fetch,
  });
  return { api, calls, unauthorized: () => unauthorized };
}

describe("requests", () => {
  test("POST /assets sends the type as JSON with the bearer token", async () => {
    const form = {
      url: "https://bucket.s3.amazonaws.com/",
      fields: { key: "k" },
      expiresAt: "2026-01-01T00:05:00Z",
      maxBytes: 10,
    };
    const { api, calls } = client([json(201, { asset, upload: form })]);
    const created = await api.createUpload("image/png");
    assert.deepEqual(created, { asset, upload: form });
    assert.equal(calls[0].url, "https://api.example.com/assets");
    assert.equal(calls[0].init.method, "POST");
    assert.equal(calls[0].init.headers.Authorization, "Bearer id-token");
    assert.equal(calls[0].init.headers["Content-Type"], "application/json");
    assert.equal(calls[0].init.credentials, "omit");
    assert.equal(calls[0].init.body, '{"contentType":"image/png"}');
  });

  test("GET /assets pages with limit and cursor; the last page has no cursor", async () => {
    const { api, calls } = client([json(200, { assets: [asset], nextCursor: "c/2=" }), json(200, { assets: [] })]);
    assert.deepEqual(await api.listAssets({ limit: 2 }), { assets: [asset], nextCursor: "c/2=" });
    assert.deepEqual(await api.listAssets({ limit: 2, cursor: "c/2=" }), { assets: [], nextCursor: null });
    assert.equal(calls[0].url, "https://api.example.com/assets?limit=2");
    assert.equal(calls[1].url, "https://api.example.com/assets?limit=2&cursor=c%2F2%3D");
  });

  test("ids are escaped into the path; DELETE answers 204 without a body", async () => {
    const { api, calls } = client([json(200, { asset }), new Response(null, { status: 204 })]);
    assert.deepEqual(await api.getAsset("../a b"), asset);
    assert.equal(await api.deleteAsset("a1"), undefined);
    assert.equal(calls[0].url, "https://api.example.com/assets/..%2Fa%20b");
    assert.equal(calls[1].init.method, "DELETE");
    assert.equal(calls[1].init.body, undefined);
  });

  test("nothing is sent without a token", async () => {
    const { api, calls } = client([], { token: null });
    await assert.rejects(api.listAssets(), (error) => error instanceof ApiError && error.code === "unauthorized");
    assert.equal(calls.length, 0);
  });
});

describe("errors", () => {
  const cases = [
    [
      json(400, { error: "invalid request: contentType: bad", code: "invalid_request" }),
      400,
      "invalid_request",
      /refused the request: invalid request: contentType: bad/,
    ],
    [json(404, { error: "asset not found", code: "not_found" }), 404, "not_found", /no longer exists/],
    [json(413, { error: "request body too large", code: "payload_too_large" }), 413, "payload_too_large", /too large/],
    [
      json(
        429,
        { error: "too many uploads in progress (limit 20)", code: "too_many_pending_uploads" },
        { "Retry-After": "60" },
      ),
      429,
      "too_many_pending_uploads",
      /too many uploads in progress/,
    ],
    [
      json(503, { error: "retry shortly", code: "service_unavailable" }, { "Retry-After": "1" }),
      503,
      "service_unavailable",
      /busy/,
    ],
    // API Gateway's own answers have no code of ours.
    [json(429, { message: "Too Many Requests" }), 429, "throttled", /Too many requests/],
    [new Response("<html>Bad gateway</html>", { status: 502 }), 502, "service_unavailable", /busy/],
    [new TypeError("Failed to fetch"), 0, "network", /Cannot reach the service/],
  ];
  for (const [answer, status, code, words] of cases) {
    test(`${status} ${code} becomes an ApiError with a message for people`, async () => {
      const { api } = client([answer]);
      await assert.rejects(api.listAssets(), (error) => {
        assert.ok(error instanceof ApiError);
        assert.equal(error.status, status);
        assert.equal(error.code, code);
        assert.match(describeApiError(error), words);
        return true;
      });
    });
  }

  test("Retry-After is kept and busy answers are transient", async () => {
    const { api } = client([json(503, { error: "x", code: "service_unavailable" }, { "Retry-After": "3" })]);
    await assert.rejects(api.getAsset("a1"), (error) => error.retryAfterSeconds === 3 && error.transient === true);
    assert.equal(new ApiError(404, "not_found", "x").transient, false);
  });

  test("a 401 tells the session, whether the API or API Gateway sent it", async () => {
    for (const answer of [
      json(401, { error: "invalid token: expired", code: "unauthorized" }),
      json(401, { message: "Unauthorized" }),
    ]) {
      const { api, unauthorized } = client([answer]);
      await assert.rejects(
        api.listAssets(),
        (error) => error.code === "unauthorized" && /session has ended/.test(describeApiError(error)),
      );
      assert.equal(unauthorized(), 1);
    }
  });

  test("the caller's abort is passed on as an abort, not a network error", async () => {
    const controller = new AbortController();
    const { api } = client([
      (_, init) =>
        new Promise((_, reject) => {
          init.signal.addEventListener("abort", () => reject(init.signal.reason));
          controller.abort(new DOMException("stop", "AbortError"));
        }),
    ]);
    await assert.rejects(api.getAsset("a1", { signal: controller.signal }), (error) => error.name === "AbortError");
  });
});
