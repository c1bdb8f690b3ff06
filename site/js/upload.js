// @ts-check
/**
 * The upload itself: a quick check of the chosen file, the signed S3 POST form sent with
 * XMLHttpRequest (for upload progress, which `fetch` does not report), and the status poll that
 * decides when an upload is done. S3 answering 204 only means the bytes arrived; the image is
 * usable once the API says `ready`.
 *
 * DOM-free apart from the injectable XMLHttpRequest and FormData: Node's test runner imports it.
 *
 * @module upload
 */

import { ApiError, FINAL_STATUSES } from "./api.js";

/** @typedef {import("./api.js").Asset} Asset */
/** @typedef {import("./api.js").ApiClient} ApiClient */
/** @typedef {import("./api.js").UploadForm} UploadForm */

/**
 * The types the page offers, by MIME type. The API decides (it refuses others with 400) and the
 * worker checks the bytes; this list only saves a round trip for an obviously wrong file.
 */
export const ACCEPTED_TYPES = Object.freeze({ "image/png": "PNG", "image/jpeg": "JPEG" });

/** How long to watch an upload before telling the user it is taking a while. */
export const DEFAULT_WATCH_MS = 120_000;

/**
 * Why an upload did not finish: `code` is S3's error code (`EntityTooLarge`, `AccessDenied`...),
 * or `network`, `still_processing`.
 */
export class UploadError extends Error {
  /**
   * @param {string} message for the person
   * @param {string} code
   * @param {number} [status] S3's HTTP status, 0 when there was no answer
   */
  constructor(message, code, status = 0) {
    super(message);
    this.name = "UploadError";
    this.code = code;
    this.status = status;
  }
}

const BINARY_UNITS = ["KiB", "MiB", "GiB"];
const exactBytes = new Intl.NumberFormat("en-US");

/**
 * `1.5 MiB`, `10 MiB`, `820 KiB`, `12 bytes`: sizes in binary units, the units the limits are
 * set in (`MAX_UPLOAD_BYTES` is 10 MiB), so a limit reads as the round number it is.
 * @param {number} bytes
 * @returns {string}
 */
export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? "byte" : "bytes"}`;
  let value = bytes;
  let unit = "";
  for (const next of BINARY_UNITS) {
    value /= 1024;
    unit = next;
    if (value < 1024) break;
  }
  // One decimal below 100, none above; "10.0" reads as the round number it nearly is.
  const text = value.toFixed(value >= 100 ? 0 : 1).replace(/\.0$/, "");
  return `${text} ${unit}`;
}

/**
 * `12,345 bytes`: the exact size, for when the rounded ones would read the same.
 * @param {number} bytes
 * @returns {string}
 */
export function formatExactBytes(bytes) {
  return `${exactBytes.format(bytes)} ${bytes === 1 ? "byte" : "bytes"}`;
}

/**
 * Why a file is too large, with its size and the limit written so that they differ: a file
 * a few bytes over 10 MiB is told both exactly, not "10 MiB; the largest is 10 MiB".
 * @param {string} name
 * @param {number} size
 * @param {number} maxBytes
 * @returns {string}
 */
export function tooLargeMessage(name, size, maxBytes) {
  const rounded = formatBytes(size);
  const limit = formatBytes(maxBytes);
  if (rounded !== limit) return `${name} is ${rounded}; the largest image you can upload is ${limit}.`;
  return `${name} is ${formatExactBytes(size)}; the largest image you can upload is ${limit} (${formatExactBytes(maxBytes)}).`;
}

const TYPE_BY_EXTENSION = Object.freeze(
  /** @type {Record<string, string>} */ ({ png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg" }),
);

/**
 * The file's MIME type as the browser reports it (from the name), or from the extension when
 * the browser reports none. The bytes are the worker's business, not the page's.
 * @param {{name: string, type: string}} file
 * @returns {string} possibly empty
 */
export function imageTypeOf(file) {
  if (file.type) return file.type;
  const extension = /\.([A-Za-z0-9]+)$/.exec(file.name)?.[1]?.toLowerCase() ?? "";
  return TYPE_BY_EXTENSION[extension] ?? "";
}

/**
 * A message if the file is obviously unacceptable (wrong type by its name, empty, too large
 * when the limit is known), else null. The server still decides.
 * @param {{name: string, type: string, size: number}} file
 * @param {number | null} maxBytes null when not known yet
 * @returns {string | null}
 */
export function checkFile(file, maxBytes) {
  if (!Object.hasOwn(ACCEPTED_TYPES, imageTypeOf(file))) {
    return `${file.name} is not a PNG or JPEG image. Choose a .png, .jpg or .jpeg file.`;
  }
  if (file.size === 0) return `${file.name} is empty.`;
  if (maxBytes !== null && file.size > maxBytes) {
    return tooLargeMessage(file.name, file.size, maxBytes);
  }
  return null;
}

/**
 * S3's XML error (`<Error><Code>..</Code><Message>..</Message></Error>`), or null.
 * @param {string} text
 * @returns {{code: string, message: string} | null}
 */
export function parseS3Error(text) {
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  if (!code) return null;
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? "";
  return { code: unescapeXml(code), message: unescapeXml(message) };
}

/** @param {string} text */
function unescapeXml(text) {
  const entities = /** @type {Record<string, string>} */ ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" });
  return text.replace(/&(lt|gt|quot|apos|amp);/g, (_, name) => entities[name]);
}

/**
 * S3's refusal of the form in the user's words.
 * @param {number} status
 * @param {string} body S3's answer
 * @param {number} maxBytes the form's limit
 * @returns {UploadError}
 */
export function describeS3Refusal(status, body, maxBytes) {
  const error = parseS3Error(body) ?? { code: `HTTP${status}`, message: "" };
  switch (error.code) {
    case "EntityTooLarge":
      return new UploadError(
        `The file is larger than the ${formatBytes(maxBytes)} this upload allows.`,
        error.code,
        status,
      );
    case "EntityTooSmall":
      return new UploadError("The file is empty.", error.code, status);
    case "AccessDenied":
      if (/expired/i.test(error.message)) {
        return new UploadError("The upload form expired before the file was sent. Try again.", error.code, status);
      }
      return new UploadError(
        `The storage service refused the file: ${error.message || "access denied"}.`,
        error.code,
        status,
      );
    default:
      return new UploadError(
        `The storage service refused the file (${error.code}${error.message ? `: ${error.message}` : ""}).`,
        error.code,
        status,
      );
  }
}

/**
 * @typedef {object} Progress
 * @property {number} loaded bytes of the request body sent so far
 * @property {number} total bytes of the whole request body (the form fields and the file)
 */

/**
 * @typedef {object} SendOptions
 * @property {(progress: Progress) => void} [onProgress]
 * @property {AbortSignal} [signal] aborts the transfer
 * @property {typeof XMLHttpRequest} [XMLHttpRequest]
 * @property {typeof FormData} [FormData]
 */

/**
 * POST the file to the signed form as `multipart/form-data`: every signed field first, in the
 * order given, then `file` last (S3 ignores anything after the file).
 * @param {UploadForm} form
 * @param {Blob} file
 * @param {SendOptions} [options]
 * @returns {Promise<void>} resolves when S3 has stored the bytes (2xx)
 * @throws {UploadError | DOMException} DOMException `AbortError` when `signal` aborted
 */
export function sendFile(form, file, options = {}) {
  const {
    onProgress = () => {},
    signal,
    XMLHttpRequest: Request = globalThis.XMLHttpRequest,
    FormData: Form = globalThis.FormData,
  } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const body = new Form();
    for (const [name, value] of Object.entries(form.fields)) body.append(name, value);
    body.append("file", file);

    const xhr = new Request();
    const abort = () => xhr.abort();
    signal?.addEventListener("abort", abort, { once: true });
    const settle = () => signal?.removeEventListener("abort", abort);

    xhr.open("POST", form.url);
    // Listening to upload progress makes this a preflighted CORS request; S3 answers those.
    xhr.upload.addEventListener("progress", (event) => {
      onProgress({ loaded: event.loaded, total: event.lengthComputable ? event.total : file.size });
    });
    xhr.addEventListener("load", () => {
      settle();
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve();
      } else if (xhr.status === 0) {
        reject(new UploadError("The storage service did not answer. Check your connection and try again.", "network"));
      } else {
        reject(describeS3Refusal(xhr.status, String(xhr.responseText ?? ""), form.maxBytes));
      }
    });
    xhr.addEventListener("error", () => {
      settle();
      reject(new UploadError("The upload was interrupted. Check your connection and try again.", "network"));
    });
    xhr.addEventListener("abort", () => {
      settle();
      reject(signal?.reason ?? new DOMException("The upload was cancelled.", "AbortError"));
    });
    xhr.send(body);
  });
}

/**
 * The waits between status polls: quick at first, when the worker is most likely done, then
 * slower, so a long wait costs few requests.
 * @param {{firstMs?: number, factor?: number, maxMs?: number}} [shape]
 * @returns {Generator<number, never, void>}
 */
export function* backoffDelays({ firstMs = 300, factor = 1.6, maxMs = 4_000 } = {}) {
  let delay = firstMs;
  for (;;) {
    yield Math.round(delay);
    delay = Math.min(delay * factor, maxMs);
  }
}

/**
 * Wait `ms`, or less if `signal` aborts (then reject with its reason).
 * @param {number} ms
 * @param {AbortSignal} [signal]
 * @returns {Promise<void>}
 */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * @typedef {object} WatchOptions
 * @property {(asset: Asset) => void} [onStatus] called with the asset each time its status changes
 * @property {AbortSignal} [signal] stops watching
 * @property {number} [timeoutMs] give up (with `still_processing`) after this long
 * @property {Iterator<number>} [delays] the waits between polls
 * @property {(ms: number, signal?: AbortSignal) => Promise<void>} [wait]
 * @property {() => number} [now]
 */

/**
 * Poll `GET /assets/{id}` with backoff until the asset is `ready`, `rejected` or `expired`.
 * A busy or unreachable API is retried (after `Retry-After` when it gives one); other API
 * errors end the watch.
 * @param {Pick<ApiClient, "getAsset">} api
 * @param {string} assetId
 * @param {WatchOptions} [options]
 * @returns {Promise<Asset>} the asset in its final status
 * @throws {ApiError | UploadError}
 */
export async function waitUntilFinal(api, assetId, options = {}) {
  const {
    onStatus = () => {},
    signal,
    timeoutMs = DEFAULT_WATCH_MS,
    delays = backoffDelays(),
    wait = sleep,
    now = () => Date.now(),
  } = options;
  const deadline = now() + timeoutMs;
  /** @type {string | null} */
  let lastStatus = null;
  for (;;) {
    let pause = delays.next().value ?? 1_000;
    try {
      const asset = await api.getAsset(assetId, { signal });
      if (asset.status !== lastStatus) {
        lastStatus = asset.status;
        onStatus(asset);
      }
      if (FINAL_STATUSES.has(asset.status)) return asset;
    } catch (error) {
      if (!(error instanceof ApiError) || !error.transient) throw error;
      if (error.retryAfterSeconds) pause = Math.max(pause, error.retryAfterSeconds * 1_000);
    }
    if (now() + pause > deadline) {
      throw new UploadError(
        "The image is taking longer than usual to check. It will appear in My images when it is done.",
        "still_processing",
      );
    }
    await wait(pause, signal);
  }
}
