// The upload queue: several files, a few at a time, each to its own end; refusals before
// sending, 429s waited out, records deleted after a failure or a cancel, retry.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ApiError } from "../../site/js/api.js";
import { UploadQueue } from "../../site/js/queue.js";
import { UploadError } from "../../site/js/upload.js";

const MiB = 1024 * 1024;
const file = (name, size = 100, type = name.endsWith(".png") ? "image/png" : name.endsWith(".jpg") ? "image/jpeg" : "text/plain") => ({ name, size, type });

/** A promise with its resolve and reject outside. */
function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

/** Let every pending promise callback run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * A fake API and S3: every transfer waits until the test lets it finish (`transfers`), every
 * upload comes back `ready` (or as `finalStatus` says).
 */
function harness({ maxBytes = null, formMaxBytes = 10 * MiB, createAnswers = [], finalStatus = () => "ready", concurrency, waitsEnd = true } = {}) {
  const calls = { create: [], delete: [], waits: [] };
  const transfers = [];
  let nextId = 1;
  const api = {
    async createUpload(contentType, options) {
      calls.create.push({ contentType, ...options, signal: undefined });
      const answer = createAnswers.shift();
      if (answer instanceof Error) throw answer;
      const assetId = `asset-${nextId++}`;
      return {
        asset: { assetId, status: "uploading" },
        upload: { url: "https://bucket.example/", fields: { key: assetId }, expiresAt: "", maxBytes: formMaxBytes },
      };
    },
    async getAsset() {
      throw new Error("the watch is faked");
    },
    async deleteAsset(assetId) {
      calls.delete.push(assetId);
    },
  };
  const send = (form, body, { signal, onProgress }) => {
    const transfer = deferred();
    transfers.push({ form, body, transfer });
    onProgress({ loaded: body.size / 2, total: body.size });
    signal?.addEventListener("abort", () => transfer.reject(signal.reason), { once: true });
    return transfer.promise;
  };
  const watch = async (_api, assetId) => {
    const status = finalStatus(assetId);
    return { assetId, status, width: 4, height: 3, ...(status === "rejected" ? { error: "The file is not a JPEG image." } : {}) };
  };
  const wait = (ms, signal) => {
    calls.waits.push(ms);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) reject(signal.reason);
      signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      if (waitsEnd) setTimeout(resolve, 0);
    });
  };
  const changes = [];
  const queue = new UploadQueue({
    api,
    maxBytes,
    concurrency,
    send,
    watch,
    wait,
    onChange: (item) => changes.push([item.file.name, item.state]),
  });
  const states = () => queue.items.map((item) => [item.file.name, item.state]);
  return { queue, calls, transfers, changes, states };
}

describe("several files at once", () => {
  test("each gets an item; three are sent at a time, the fourth when a slot frees", async () => {
    const { queue, transfers, states, calls } = harness();
    const items = queue.add(["a.png", "b.png", "c.jpg", "d.png"].map((name) => file(name)));
    assert.equal(items.length, 4);
    await settle();
    assert.equal(transfers.length, 3, "three transfers at once");
    assert.deepEqual(states().map(([, state]) => state), ["sending", "sending", "sending", "waiting"]);
    assert.deepEqual(
      calls.create.map(({ contentType, fileName }) => [contentType, fileName]),
      [["image/png", "a.png"], ["image/png", "b.png"], ["image/jpeg", "c.jpg"]],
      "the file's name goes with its upload",
    );
    transfers[0].transfer.resolve();
    await settle();
    assert.equal(transfers.length, 4, "the fourth starts once the first is sent");
    for (const { transfer } of transfers.slice(1)) transfer.resolve();
    await settle();
    assert.deepEqual(states().map(([, state]) => state), ["ready", "ready", "ready", "ready"]);
    assert.match(queue.items[0].message, /^a.png is ready \(4 × 3 pixels\)/);
    assert.equal(queue.busy, false);
  });

  test("uploads go into the album given, and the worker's rejection is the item's reason", async () => {
    const { queue, transfers, calls } = harness({ finalStatus: (id) => (id === "asset-2" ? "rejected" : "ready") });
    queue.add([file("ok.png"), file("fake.jpg")], { albumId: "album-1" });
    await settle();
    for (const { transfer } of transfers) transfer.resolve();
    await settle();
    assert.deepEqual(calls.create.map((call) => call.albumId), ["album-1", "album-1"]);
    const [ok, fake] = queue.items;
    assert.equal(ok.state, "ready");
    assert.equal(fake.state, "rejected");
    assert.equal(fake.message, "fake.jpg was rejected: The file is not a JPEG image.");
  });
});

describe("refused before anything is sent", () => {
  test("a wrong type is refused with its reason and asks the API nothing", async () => {
    const { queue, calls } = harness();
    const [item] = queue.add([file("notes.txt")]);
    await settle();
    assert.equal(item.state, "refused");
    assert.equal(item.message, "notes.txt is not a PNG or JPEG image. Choose a .png, .jpg or .jpeg file.");
    assert.deepEqual(calls.create, []);
  });

  test("a file over a known limit is refused with both sizes", async () => {
    const { queue, calls } = harness({ maxBytes: 10 * MiB });
    const [item] = queue.add([file("huge.png", 10 * MiB + 8)]);
    await settle();
    assert.equal(item.state, "refused");
    assert.equal(item.message, "huge.png is 10,485,768 bytes; the largest image you can upload is 10 MiB (10,485,760 bytes).");
    assert.deepEqual(calls.create, []);
  });

  test("a limit learnt from the first form deletes that record and refuses the queued ones without a record", async () => {
    const { queue, calls, transfers } = harness({ concurrency: 1 });
    const [big, other, small] = queue.add([file("big.png", 11 * MiB), file("bigger.png", 12 * MiB), file("small.png", 10)]);
    await settle();
    assert.equal(big.state, "refused");
    assert.equal(big.message, "big.png was not uploaded: big.png is 11 MiB; the largest image you can upload is 10 MiB.");
    assert.deepEqual(calls.delete, ["asset-1"], "the record it asked for is deleted");
    assert.equal(other.state, "refused", "refused as soon as the limit was known");
    assert.equal(calls.create.length, 2, "only the small one asked for a second form");
    assert.equal(calls.create[1].fileName, "small.png");
    transfers[0].transfer.resolve();
    await settle();
    assert.equal(small.state, "ready");
  });
});

describe("the API's 429", () => {
  test("waits for Retry-After, then asks again", async () => {
    const busy = new ApiError(429, "too_many_pending_uploads", "too many", 60);
    const { queue, calls, transfers, changes } = harness({ createAnswers: [busy] });
    const [item] = queue.add([file("one-more.png")]);
    await settle();
    assert.deepEqual(calls.waits, [60_000], "the wait Retry-After asked for");
    assert.ok(changes.some(([, state]) => state === "held"));
    await settle();
    assert.equal(calls.create.length, 2);
    assert.equal(item.state, "sending");
    transfers[0].transfer.resolve();
    await settle();
    assert.equal(item.state, "ready");
  });

  test("a held item can be cancelled, and creates nothing", async () => {
    const busy = new ApiError(429, "too_many_pending_uploads", "too many", 60);
    const { queue, calls } = harness({ createAnswers: [busy], waitsEnd: false });
    const [item] = queue.add([file("later.png")]);
    await settle();
    assert.equal(item.state, "held");
    assert.equal(item.message, "You have too many uploads in progress. Wait for them to finish (an unfinished upload expires after a few minutes), then try again. Trying again in 60 s.");
    queue.cancel(item.id);
    await settle();
    assert.equal(item.state, "cancelled");
    assert.equal(calls.create.length, 1);
    assert.deepEqual(calls.delete, []);
  });
});

describe("failures, cancels and retries", () => {
  test("a cancel while sending stops the transfer and deletes the record", async () => {
    const { queue, calls } = harness();
    const [item] = queue.add([file("slow.png")]);
    await settle();
    assert.equal(item.state, "sending");
    queue.cancel(item.id);
    await settle();
    assert.equal(item.state, "cancelled");
    assert.equal(item.message, "The upload of slow.png was cancelled.");
    assert.deepEqual(calls.delete, ["asset-1"]);
  });

  test("a failed transfer deletes its record and can be retried to the end", async () => {
    const { queue, calls, transfers } = harness();
    const [item] = queue.add([file("flaky.png")]);
    await settle();
    transfers[0].transfer.reject(new UploadError("The upload was interrupted. Check your connection and try again.", "network"));
    await settle();
    assert.equal(item.state, "failed");
    assert.equal(item.message, "flaky.png was not uploaded: The upload was interrupted. Check your connection and try again.");
    assert.deepEqual(calls.delete, ["asset-1"]);
    queue.retry(item.id);
    await settle();
    assert.equal(item.state, "sending");
    transfers[1].transfer.resolve();
    await settle();
    assert.equal(item.state, "ready");
    assert.equal(item.assetId, "asset-2", "a new record for the new try");
  });

  test("an album that went away is said so", async () => {
    const { queue } = harness({ createAnswers: [new ApiError(404, "not_found", "album not found")] });
    const [item] = queue.add([file("a.png")], { albumId: "gone" });
    await settle();
    assert.equal(item.state, "failed");
    assert.equal(item.message, "a.png was not uploaded: The album it was going into no longer exists.");
  });

  test("clear stops everything without a word", async () => {
    const { queue, calls, changes } = harness();
    queue.add([file("a.png"), file("b.png")]);
    await settle();
    const before = changes.length;
    queue.clear();
    await settle();
    assert.deepEqual(queue.items, []);
    assert.equal(changes.length, before, "no item reported after the sign-out");
    assert.deepEqual(calls.delete.sort(), ["asset-1", "asset-2"], "their records are deleted all the same");
  });

  test("settled items can be removed; others cannot", async () => {
    const { queue } = harness();
    const [refused, sending] = queue.add([file("x.txt"), file("a.png")]);
    await settle();
    assert.equal(queue.remove(sending.id), false);
    assert.equal(queue.remove(refused.id), true);
    assert.deepEqual(queue.items.map((item) => item.file.name), ["a.png"]);
  });
});
