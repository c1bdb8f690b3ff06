// @ts-check
/**
 * The upload queue: several files at once, each followed on its own from the quick check to
 * its final status, a few transfers at a time. A file is refused before anything is sent when
 * its type or size is wrong; a 429 from the API waits for `Retry-After`; a failure or a cancel
 * deletes the record the upload had asked for, and can be retried.
 *
 * DOM-free: the panel (upload-panel.js) draws the items; Node's test runner drives the queue
 * with fake collaborators.
 *
 * @module queue
 */

import { ApiError, describeApiError } from "./api.js";
import { UploadError, checkFile, imageTypeOf, sendFile, sleep, tooLargeMessage, waitUntilFinal } from "./upload.js";

/** @typedef {import("./api.js").ApiClient} ApiClient */
/** @typedef {import("./api.js").Asset} Asset */
/** @typedef {import("./api.js").CreatedUpload} CreatedUpload */

/** How many files are sent at the same time; the rest wait their turn. */
export const DEFAULT_CONCURRENCY = 3;

/** The wait after a 429 that names none. */
const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** After this long of 429s in a row an item stops waiting and fails (it can be retried). */
const MAX_HOLD_MS = 15 * 60_000;

/**
 * Where an item is:
 * - `refused`: not sent, the page refused it (type, size); final.
 * - `waiting`: for a free slot.
 * - `creating`: asking the API for a form.
 * - `held`: the API said 429; waiting for `Retry-After` (`retryAt`).
 * - `sending`: the bytes are going to S3 (`progress`).
 * - `checking`: sent; the worker is checking it (`status` as the API reports).
 * - `ready`, `rejected`, `expired`: the API's final word (`asset`).
 * - `pending`: sent, still being checked after the watch gave up; it will appear in My images.
 * - `failed`, `cancelled`: stopped; the record was deleted if the bytes had not been sent. Retryable.
 * @typedef {"refused" | "waiting" | "creating" | "held" | "sending" | "checking" | "ready" | "rejected" | "expired" | "pending" | "failed" | "cancelled"} ItemState
 */

/** States in which the queue will do nothing more with an item unless asked to. */
export const SETTLED_STATES = Object.freeze(
  new Set(["refused", "ready", "rejected", "expired", "pending", "failed", "cancelled"]),
);

/** States an item can be retried from. */
export const RETRYABLE_STATES = Object.freeze(new Set(["failed", "cancelled", "expired"]));

/** States an item can be cancelled in: until its bytes have been sent. */
export const CANCELLABLE_STATES = Object.freeze(new Set(["waiting", "creating", "held", "sending"]));

/**
 * One file in the queue. The queue changes it and calls `onChange` after every change.
 * @typedef {object} QueueItem
 * @property {number} id
 * @property {File} file
 * @property {string | null} albumId the album it goes into
 * @property {ItemState} state
 * @property {{loaded: number, total: number}} progress of the transfer
 * @property {import("./api.js").AssetStatus | null} status the last status the API reported
 * @property {string} message what happened, in words (the reason for refused, failed, rejected...)
 * @property {string | null} assetId once the API has recorded it
 * @property {Asset | null} asset the final asset
 * @property {number | null} retryAt epoch ms, while `held`
 */

/**
 * @typedef {object} QueueOptions
 * @property {Pick<ApiClient, "createUpload" | "getAsset" | "deleteAsset">} api
 * @property {number | null} maxBytes the size limit if known (config.js); else learnt from the first form
 * @property {(item: QueueItem) => void} onChange
 * @property {number} [concurrency]
 * @property {typeof sendFile} [send]
 * @property {typeof waitUntilFinal} [watch]
 * @property {(ms: number, signal?: AbortSignal) => Promise<void>} [wait]
 * @property {() => number} [now]
 */

/** The abort reason of a sign-out: nothing is reported, the items just go. */
const STOPPED = new DOMException("The page stopped the upload.", "AbortError");

export class UploadQueue {
  #api;
  #onChange;
  #concurrency;
  #send;
  #watch;
  #wait;
  #now;
  /** @type {number | null} */
  #maxBytes;
  /** @type {QueueItem[]} */
  #items = [];
  /** @type {Map<number, AbortController>} */
  #controllers = new Map();
  /** Items holding a transfer slot (from asking for a form until the bytes are sent). */
  #active = 0;
  #nextId = 1;

  /** @param {QueueOptions} options */
  constructor({ api, maxBytes, onChange, concurrency = DEFAULT_CONCURRENCY, send = sendFile, watch = waitUntilFinal, wait = sleep, now = () => Date.now() }) {
    this.#api = api;
    this.#maxBytes = maxBytes;
    this.#onChange = onChange;
    this.#concurrency = concurrency;
    this.#send = send;
    this.#watch = watch;
    this.#wait = wait;
    this.#now = now;
  }

  /** The items, oldest first. */
  get items() {
    return [...this.#items];
  }

  /** The size limit, once known. */
  get maxBytes() {
    return this.#maxBytes;
  }

  /** True while any item is not settled. */
  get busy() {
    return this.#items.some((item) => !SETTLED_STATES.has(item.state));
  }

  /**
   * Queue files; each is checked at once and refused with its reason if it cannot be an upload.
   * @param {Iterable<File>} files
   * @param {{albumId?: string | null}} [options] the album they go into
   * @returns {QueueItem[]} one item per file, none left out
   */
  add(files, { albumId = null } = {}) {
    const added = [];
    for (const file of files) {
      /** @type {QueueItem} */
      const item = {
        id: this.#nextId++,
        file,
        albumId,
        state: "waiting",
        progress: { loaded: 0, total: file.size },
        status: null,
        message: "",
        assetId: null,
        asset: null,
        retryAt: null,
      };
      this.#items.push(item);
      added.push(item);
      const problem = checkFile(file, this.#maxBytes);
      if (problem) this.#set(item, { state: "refused", message: problem });
      else this.#set(item, { message: "Waiting to be sent." });
    }
    this.#pump();
    return added;
  }

  /**
   * Stop an item that has not been sent yet; its record, if any, is deleted.
   * @param {number} id
   */
  cancel(id) {
    const item = this.#find(id);
    if (!item || !CANCELLABLE_STATES.has(item.state)) return;
    const controller = this.#controllers.get(id);
    if (controller) {
      controller.abort();
      return;
    }
    this.#set(item, { state: "cancelled", message: `The upload of ${item.file.name} was cancelled.` });
  }

  /**
   * Try a failed, cancelled or expired item again, from the start.
   * @param {number} id
   */
  retry(id) {
    const item = this.#find(id);
    if (!item || !RETRYABLE_STATES.has(item.state)) return;
    const problem = checkFile(item.file, this.#maxBytes);
    if (problem) {
      this.#set(item, { state: "refused", message: problem });
      return;
    }
    this.#set(item, {
      state: "waiting",
      message: "Waiting to be sent.",
      progress: { loaded: 0, total: item.file.size },
      status: null,
      assetId: null,
      asset: null,
    });
    this.#pump();
  }

  /**
   * Forget a settled item (its card goes).
   * @param {number} id
   * @returns {boolean} whether it was removed
   */
  remove(id) {
    const item = this.#find(id);
    if (!item || !SETTLED_STATES.has(item.state)) return false;
    this.#items = this.#items.filter((other) => other !== item);
    return true;
  }

  /** Stop everything without a word and forget every item (on sign-out). */
  clear() {
    for (const controller of this.#controllers.values()) controller.abort(STOPPED);
    this.#controllers.clear();
    this.#items = [];
    this.#active = 0;
  }

  /** @param {number} id */
  #find(id) {
    return this.#items.find((item) => item.id === id);
  }

  /**
   * @param {QueueItem} item
   * @param {Partial<QueueItem>} changes
   */
  #set(item, changes) {
    Object.assign(item, changes);
    if (this.#items.includes(item)) this.#onChange(item);
  }

  /** Start waiting items while slots are free. */
  #pump() {
    for (const item of this.#items) {
      if (this.#active >= this.#concurrency) return;
      if (item.state === "waiting" && !this.#controllers.has(item.id)) void this.#run(item);
    }
  }

  /** @param {QueueItem} item */
  async #run(item) {
    const controller = new AbortController();
    const { signal } = controller;
    this.#controllers.set(item.id, controller);
    this.#active += 1;
    let holdsSlot = true;
    const release = () => {
      if (!holdsSlot) return;
      holdsSlot = false;
      this.#active -= 1;
      this.#pump();
    };
    const { file } = item;
    /** @type {CreatedUpload | null} */
    let created = null;
    let sent = false;
    try {
      created = await this.#create(item, signal);
      this.#learnLimit(created.upload.maxBytes);
      if (file.size > created.upload.maxBytes) {
        throw new UploadError(tooLargeMessage(file.name, file.size, created.upload.maxBytes), "too_large");
      }
      this.#set(item, { state: "sending", assetId: created.asset.assetId, status: created.asset.status, message: `Sending ${file.name}…` });
      await this.#send(created.upload, file, {
        signal,
        onProgress: (progress) => this.#set(item, { progress }),
      });
      sent = true;
      release();
      this.#set(item, {
        state: "checking",
        progress: { loaded: item.progress.total, total: item.progress.total },
        message: `${file.name} sent. Waiting for it to be checked…`,
      });
      const asset = await this.#watch(this.#api, created.asset.assetId, {
        signal,
        onStatus: (current) => this.#set(item, { status: current.status }),
      });
      this.#finish(item, asset);
    } catch (error) {
      if (created && !sent) void this.#discard(created.asset.assetId);
      if (signal.reason !== STOPPED) this.#fail(item, error, signal.aborted);
    } finally {
      this.#controllers.delete(item.id);
      release();
    }
  }

  /**
   * `POST /assets`, waiting out 429s for as long as `Retry-After` says.
   * @param {QueueItem} item
   * @param {AbortSignal} signal
   * @returns {Promise<CreatedUpload>}
   */
  async #create(item, signal) {
    const { file } = item;
    const startedAt = this.#now();
    for (;;) {
      this.#set(item, { state: "creating", retryAt: null, message: `Asking to upload ${file.name}…` });
      try {
        return await this.#api.createUpload(imageTypeOf(file), {
          signal,
          fileName: file.name,
          albumId: item.albumId,
        });
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 429) throw error;
        const waitMs = (error.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS) * 1_000;
        if (this.#now() + waitMs - startedAt > MAX_HOLD_MS) throw error;
        const retryAt = this.#now() + waitMs;
        this.#set(item, {
          state: "held",
          retryAt,
          message: `${describeApiError(error)} Trying again in ${Math.ceil(waitMs / 1_000)} s.`,
        });
        await this.#wait(waitMs, signal);
      }
    }
  }

  /**
   * The form told the limit: waiting files over it are refused now, before any record is made.
   * @param {number} maxBytes
   */
  #learnLimit(maxBytes) {
    if (this.#maxBytes === maxBytes) return;
    this.#maxBytes = maxBytes;
    for (const other of this.#items) {
      if (other.state === "waiting" && !this.#controllers.has(other.id) && other.file.size > maxBytes) {
        this.#set(other, { state: "refused", message: tooLargeMessage(other.file.name, other.file.size, maxBytes) });
      }
    }
  }

  /**
   * @param {QueueItem} item
   * @param {Asset} asset in a final status
   */
  #finish(item, asset) {
    const name = item.file.name;
    if (asset.status === "ready") {
      const size = asset.width && asset.height ? ` (${asset.width} × ${asset.height} pixels)` : "";
      this.#set(item, { state: "ready", asset, status: asset.status, message: `${name} is ready${size}. It is in My images below.` });
    } else if (asset.status === "rejected") {
      const reason = asset.error ?? "the image could not be validated";
      this.#set(item, { state: "rejected", asset, status: asset.status, message: `${name} was rejected: ${reason}` });
    } else {
      this.#set(item, { state: "expired", asset, status: asset.status, message: `The upload of ${name} expired before the file arrived. Try again.` });
    }
  }

  /**
   * @param {QueueItem} item
   * @param {unknown} error
   * @param {boolean} cancelled
   */
  #fail(item, error, cancelled) {
    const name = item.file.name;
    if (cancelled) {
      this.#set(item, { state: "cancelled", retryAt: null, message: `The upload of ${name} was cancelled.` });
      return;
    }
    if (error instanceof UploadError && error.code === "still_processing") {
      this.#set(item, { state: "pending", message: `${name} was sent. ${error.message}` });
      return;
    }
    if (error instanceof UploadError && error.code === "too_large") {
      this.#set(item, { state: "refused", message: `${name} was not uploaded: ${error.message}` });
      return;
    }
    let reason = "Something went wrong with this upload. Try again.";
    if (error instanceof ApiError) {
      reason =
        error.code === "not_found" && item.albumId && item.state === "creating"
          ? "The album it was going into no longer exists."
          : describeApiError(error);
    } else if (error instanceof UploadError) {
      reason = error.message;
    } else {
      console.error(error);
    }
    this.#set(item, { state: "failed", retryAt: null, message: `${name} was not uploaded: ${reason}` });
  }

  /**
   * Delete the record of an upload whose bytes never arrived, so it does not count against
   * the user's open uploads until it expires. Best effort: it expires anyway.
   * @param {string} assetId
   */
  async #discard(assetId) {
    try {
      await this.#api.deleteAsset(assetId);
    } catch {
      // Left to expire.
    }
  }
}
