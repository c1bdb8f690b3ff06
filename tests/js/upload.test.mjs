// The upload helpers: the quick file check, the signed-form POST, S3's refusals, the status poll.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ApiError } from "../../site/js/api.js";
import {
  UploadError,
  backoffDelays,
  checkFile,
  describeS3Refusal,
  formatBytes,
  imageTypeOf,
  parseS3Error,
  sendFile,
  sleep,
  waitUntilFinal,
} from "../../site/js/upload.js";

const MiB = 1024 * 1024;

describe("the quick check of a chosen file", () => {
  test("PNG and JPEG within the limit pass", () => {
    assert.equal(checkFile({ name: "a.png", type: "image/png", size: 10 }, 10 * MiB), null);
    assert.equal(checkFile({ name: "a.jpg", type: "image/jpeg", size: 10 * MiB }, 10 * MiB), null);
    assert.equal(checkFile({ name: "huge.jpg", type: "image/jpeg", size: 10 ** 10 }, null), null, "no limit known yet");
  });

  test("other types, empty and too-large files get a message", () => {
    assert.match(checkFile({ name: "a.gif", type: "image/gif", size: 10 }, null), /a.gif is not a PNG or JPEG image/);
    assert.match(checkFile({ name: "notes", type: "", size: 10 }, null), /not a PNG or JPEG/);
    assert.match(checkFile({ name: "a.png", type: "image/png", size: 0 }, null), /a.png is empty/);
    // Just over the limit: the rounded sizes would read the same, so both are told exactly.
    assert.equal(
      checkFile({ name: "a.png", type: "image/png", size: 10 * MiB + 1 }, 10 * MiB),
      "a.png is 10,485,761 bytes; the largest image you can upload is 10 MiB (10,485,760 bytes).",
    );
    assert.equal(
      checkFile({ name: "a.png", type: "image/png", size: 12.5 * MiB }, 10 * MiB),
      "a.png is 12.5 MiB; the largest image you can upload is 10 MiB.",
    );
  });

  test("the type is the browser's, or the extension's when the browser gives none", () => {
    assert.equal(imageTypeOf({ name: "a.txt", type: "image/png" }), "image/png");
    assert.equal(imageTypeOf({ name: "photo.JPEG", type: "" }), "image/jpeg");
    assert.equal(imageTypeOf({ name: "photo.jpg", type: "" }), "image/jpeg");
    assert.equal(imageTypeOf({ name: "scan.png", type: "" }), "image/png");
    assert.equal(imageTypeOf({ name: "notes", type: "" }), "");
    assert.equal(checkFile({ name: "photo.jpg", type: "", size: 5 }, null), null);
  });

  test("sizes are written for people", () => {
    assert.equal(formatBytes(1), "1 byte");
    assert.equal(formatBytes(999), "999 bytes");
    // Binary units, as the limits are set: 10 MiB reads "10 MiB", not "10.5 MB".
    assert.equal(formatBytes(1_024), "1 KiB");
    assert.equal(formatBytes(1_536), "1.5 KiB");
    assert.equal(formatBytes(820 * 1024), "820 KiB");
    assert.equal(formatBytes(10 * MiB), "10 MiB");
    assert.equal(formatBytes(10 * MiB + 8), "10 MiB");
    assert.equal(formatBytes(1.25 * MiB), "1.3 MiB");
    assert.equal(formatBytes(3 * 1024 * MiB), "3 GiB");
  });
});

describe("S3's refusals", () => {
  const xml = (code, message) =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>r</RequestId></Error>`;

  test("the error document is read, entities and all", () => {
    assert.deepEqual(parseS3Error(xml("AccessDenied", "Invalid according to Policy: &quot;x&quot; &amp; y")), {
      code: "AccessDenied",
      message: 'Invalid according to Policy: "x" & y',
    });
    assert.equal(parseS3Error("<html>proxy error</html>"), null);
  });

  test("each refusal has its own words", () => {
    const cases = [
      [
        400,
        xml("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"),
        /larger than the 10 MiB this upload allows/,
      ],
      [400, xml("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"), /empty/],
      [403, xml("AccessDenied", "Invalid according to Policy: Policy expired."), /form expired/],
      [
        403,
        xml("AccessDenied", "Invalid according to Policy: Policy Condition failed"),
        /refused the file: Invalid according to Policy: Policy Condition failed/,
      ],
      [
        403,
        xml("SignatureDoesNotMatch", "The request signature we calculated does not match"),
        /\(SignatureDoesNotMatch: The request signature/,
      ],
      [500, "oops", /\(HTTP500\)/],
    ];
    for (const [status, body, words] of cases) {
      const error = describeS3Refusal(status, body, 10 * MiB);
      assert.ok(error instanceof UploadError);
      assert.equal(error.status, status);
      assert.match(error.message, words);
    }
  });
});

/** Just enough XMLHttpRequest for sendFile: records the request, lets the test answer. */
class FakeXhr {
  static last = null;
  upload = new EventTarget();
  #events = new EventTarget();
  status = 0;
  responseText = "";

  constructor() {
    FakeXhr.last = this;
  }
  open(method, url) {
    Object.assign(this, { method, url });
  }
  addEventListener(type, listener) {
    this.#events.addEventListener(type, listener);
  }
  send(body) {
    this.body = body;
  }
  abort() {
    this.#events.dispatchEvent(new Event("abort"));
  }
  progress(loaded, total) {
    this.upload.dispatchEvent(Object.assign(new Event("progress"), { loaded, total, lengthComputable: true }));
  }
  respond(status, text = "") {
    Object.assign(this, { status, responseText: text });
    this.#events.dispatchEvent(new Event("load"));
  }
  fail() {
    this.#events.dispatchEvent(new Event("error"));
  }
}

describe("sending the signed form", () => {
  const form = {
    url: "https://bucket.s3.eu-west-1.amazonaws.com/",
    fields: { key: "uploads/originals/a1.png", "Content-Type": "image/png", policy: "p", "x-amz-signature": "s" },
    expiresAt: "2026-01-01T00:05:00Z",
    maxBytes: 10 * MiB,
  };
  const file = new Blob([new Uint8Array(2048)], { type: "image/png" });

  test("every signed field goes first, in order, the file last; progress is reported", async () => {
    const seen = [];
    const sending = sendFile(form, file, { XMLHttpRequest: FakeXhr, onProgress: (p) => seen.push(p) });
    const xhr = FakeXhr.last;
    assert.equal(xhr.method, "POST");
    assert.equal(xhr.url, form.url);
    assert.deepEqual([...xhr.body.keys()], ["key", "Content-Type", "policy", "x-amz-signature", "file"]);
    assert.equal(xhr.body.get("Content-Type"), "image/png");
    assert.equal(xhr.body.get("file").size, 2048);
    xhr.progress(1000, 2400);
    xhr.progress(2400, 2400);
    xhr.respond(204);
    await sending;
    assert.deepEqual(seen, [
      { loaded: 1000, total: 2400 },
      { loaded: 2400, total: 2400 },
    ]);
  });

  test("S3's refusal, a lost connection and a cancel are told apart", async () => {
    const refused = sendFile(form, file, { XMLHttpRequest: FakeXhr });
    FakeXhr.last.respond(400, "<Error><Code>EntityTooLarge</Code><Message>too big</Message></Error>");
    await assert.rejects(refused, (error) => error instanceof UploadError && error.code === "EntityTooLarge");

    const lost = sendFile(form, file, { XMLHttpRequest: FakeXhr });
    FakeXhr.last.fail();
    await assert.rejects(lost, (error) => error instanceof UploadError && error.code === "network");

    const controller = new AbortController();
    const cancelled = sendFile(form, file, { XMLHttpRequest: FakeXhr, signal: controller.signal });
    controller.abort();
    await assert.rejects(cancelled, (error) => error.name === "AbortError");
  });
});

describe("watching the status", () => {
  const at = (status, extra = {}) => ({
    assetId: "a1",
    status,
    contentType: "image/png",
    createdAt: "",
    updatedAt: "",
    ...extra,
  });

  function fakeClock() {
    let now = 0;
    const waits = [];
    return { waits, now: () => now, wait: async (ms) => (waits.push(ms), (now += ms)) };
  }

  function scriptedApi(...answers) {
    const calls = [];
    return {
      calls,
      getAsset: async (id) => {
        calls.push(id);
        const answer = answers.shift();
        if (answer instanceof Error) throw answer;
        return answer;
      },
    };
  }

  test("the waits grow from 300 ms to at most 4 s", () => {
    const delays = backoffDelays();
    const first = Array.from({ length: 9 }, () => delays.next().value);
    assert.deepEqual(first, [300, 480, 768, 1229, 1966, 3146, 4000, 4000, 4000]);
  });

  test("polls until ready, reporting each new status once", async () => {
    const clock = fakeClock();
    const api = scriptedApi(
      at("uploading"),
      at("uploading"),
      at("processing"),
      at("ready", { url: "https://cdn/a1.png" }),
    );
    const statuses = [];
    const asset = await waitUntilFinal(api, "a1", { ...clock, onStatus: (a) => statuses.push(a.status) });
    assert.equal(asset.status, "ready");
    assert.deepEqual(statuses, ["uploading", "processing", "ready"]);
    assert.deepEqual(clock.waits, [300, 480, 768]);
  });

  test("a rejection ends the watch with the worker's reason", async () => {
    const api = scriptedApi(at("processing"), at("rejected", { error: "The file is not a JPEG image." }));
    const asset = await waitUntilFinal(api, "a1", fakeClock());
    assert.equal(asset.error, "The file is not a JPEG image.");
  });

  test("a busy API is retried, after Retry-After when it says so", async () => {
    const clock = fakeClock();
    const api = scriptedApi(
      new ApiError(503, "service_unavailable", "busy", 2),
      new ApiError(0, "network", "offline"),
      at("ready"),
    );
    assert.equal((await waitUntilFinal(api, "a1", clock)).status, "ready");
    assert.deepEqual(clock.waits, [2000, 480]);
  });

  test("a lost asset or session ends the watch at once", async () => {
    const api = scriptedApi(new ApiError(404, "not_found", "asset not found"));
    await assert.rejects(waitUntilFinal(api, "a1", fakeClock()), (error) => error.code === "not_found");
    assert.equal(api.calls.length, 1);
  });

  test("after the time allowed it says the image is still being checked", async () => {
    const api = scriptedApi(...Array.from({ length: 100 }, () => at("processing")));
    await assert.rejects(
      waitUntilFinal(api, "a1", { ...fakeClock(), timeoutMs: 10_000 }),
      (error) => error instanceof UploadError && error.code === "still_processing",
    );
    assert.ok(api.calls.length < 10, `${api.calls.length} polls in 10 s`);
  });

  test("sleep stops early when aborted", async () => {
    const controller = new AbortController();
    const started = Date.now();
    const waiting = sleep(10_000, controller.signal);
    controller.abort(new DOMException("stop", "AbortError"));
    await assert.rejects(waiting, (error) => error.name === "AbortError");
    assert.ok(Date.now() - started < 1_000);
  });
});
