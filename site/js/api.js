// @ts-check
/**
 * A small client for the asset API (see `docs/openapi.json`). Every failure comes back as an
 * {@link ApiError} with the API's stable `code`; {@link describeApiError} turns it into words.
 *
 * DOM-free: it needs only `fetch`, so Node's test runner imports it too.
 *
 * @module api
 */

/** @typedef {"uploading" | "processing" | "ready" | "rejected" | "expired"} AssetStatus */

/**
 * @typedef {object} Asset an asset as its owner sees it (`AssetView` in the OpenAPI document)
 * @property {string} assetId
 * @property {AssetStatus} status
 * @property {"image/png" | "image/jpeg"} contentType
 * @property {string} createdAt ISO 8601 UTC
 * @property {string} updatedAt ISO 8601 UTC
 * @property {string} [url] the CDN URL; only when `ready`
 * @property {number} [width] pixels; only when `ready`
 * @property {number} [height] pixels; only when `ready`
 * @property {number} [bytes] published size; only when `ready`
 * @property {string} [urlExpiresAt] ISO 8601: when `url` and the variants' URLs stop working (signed delivery)
 * @property {{thumb?: Variant, display?: Variant}} [variants] smaller WebP sizes; only when `ready`
 * @property {string} [placeholder] a BlurHash of the image; only when `ready`
 * @property {string} [error] the worker's reason; only when `rejected`
 * @property {string} [errorCode] stable reason code; only when `rejected`
 * @property {string} [fileName] the name the file had, for display only
 * @property {string} [title]
 * @property {string} [description]
 * @property {string} [albumId] the album it is in
 */

/**
 * @typedef {object} Variant one published size of a ready image (`VariantView`)
 * @property {string} url
 * @property {number} width
 * @property {number} height
 * @property {string} contentType always `image/webp`
 * @property {number} bytes
 */

/**
 * @typedef {object} Album an album as its owner sees it (`AlbumView`)
 * @property {string} albumId
 * @property {string} name
 * @property {string} createdAt
 * @property {string} updatedAt
 * @property {number} assetCount how many of its images are `ready`
 */

/**
 * @typedef {object} UploadDetails what an upload may say about its image (all optional)
 * @property {string} [fileName] the file's name, for display only (the server never uses it in a key)
 * @property {string} [title]
 * @property {string} [description]
 * @property {string | null} [albumId] one of the caller's albums
 */

/**
 * @typedef {object} AssetChanges `PATCH /assets/{id}`: any of these; `null` or "" clears
 * @property {string | null} [title]
 * @property {string | null} [description]
 * @property {string | null} [albumId]
 */

/**
 * @typedef {object} UploadForm the signed S3 POST form
 * @property {string} url where to POST the form
 * @property {Record<string, string>} fields every one goes first, in order, before `file`
 * @property {string} expiresAt S3 refuses the form after this moment
 * @property {number} maxBytes the largest file the form accepts
 */

/** @typedef {{asset: Asset, upload: UploadForm}} CreatedUpload */
/** @typedef {{assets: Asset[], nextCursor: string | null}} AssetPage */
/** @typedef {{albums: Album[], nextCursor: string | null}} AlbumPage */

/** Statuses an asset does not leave by itself. */
export const FINAL_STATUSES = Object.freeze(new Set(["ready", "rejected", "expired"]));

const REQUEST_TIMEOUT_MS = 20_000;

/** The API's codes for answers without a JSON body of ours (API Gateway's own, proxies). */
const CODE_FOR_STATUS = /** @type {Record<number, string>} */ ({
  400: "invalid_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  413: "payload_too_large",
  429: "throttled",
  502: "service_unavailable",
  503: "service_unavailable",
  504: "service_unavailable",
});

/**
 * A request the API refused or that never reached it.
 * `code` is the API's (`not_found`, `too_many_pending_uploads`...), or `network` / `timeout`.
 */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status; 0 when there was no answer
   * @param {string} code
   * @param {string} message the API's `error` text, or what happened
   * @param {number | null} [retryAfterSeconds] from `Retry-After`
   */
  constructor(status, code, message, retryAfterSeconds = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** Worth retrying after a pause: the service was busy or unreachable, nothing was decided. */
  get transient() {
    return ["service_unavailable", "throttled", "network", "timeout"].includes(this.code);
  }
}

/**
 * The words a person sees for a failed API call.
 * @param {ApiError} error
 * @returns {string}
 */
export function describeApiError(error) {
  switch (error.code) {
    case "unauthorized":
      return "Your session has ended. Sign in again to continue.";
    case "not_found":
      return "That image no longer exists.";
    case "too_many_albums":
      return "You have as many albums as you can have. Delete one to make another.";
    case "payload_too_large":
      return "The request was too large for the service.";
    case "too_many_pending_uploads":
      return "You have too many uploads in progress. Wait for them to finish (an unfinished upload expires after a few minutes), then try again.";
    case "throttled":
      return "Too many requests right now. Wait a moment, then try again.";
    case "invalid_request":
    case "invalid_cursor":
      return `The service refused the request: ${error.message}.`;
    case "service_unavailable":
      return "The service is busy right now. Try again in a moment.";
    case "network":
      return "Cannot reach the service. Check your connection and try again.";
    case "timeout":
      return "The service took too long to answer. Try again.";
    default:
      return `Something went wrong (HTTP ${error.status}): ${error.message}.`;
  }
}

/**
 * @typedef {object} ApiClientOptions
 * @property {string} baseUrl the API's base URL, no trailing slash
 * @property {() => string | null} getToken the current ID token, or null when signed out
 * @property {() => void} [onUnauthorized] called when the API refuses the token (401)
 * @property {typeof fetch} [fetch]
 */

/** The asset and album API, as the signed-in user. */
export class ApiClient {
  #baseUrl;
  #getToken;
  #onUnauthorized;
  #fetch;

  /** @param {ApiClientOptions} options */
  constructor({
    baseUrl,
    getToken,
    onUnauthorized = () => {},
    fetch = (input, init) => globalThis.fetch(input, init),
  }) {
    this.#baseUrl = baseUrl;
    this.#getToken = getToken;
    this.#onUnauthorized = onUnauthorized;
    this.#fetch = fetch;
  }

  /**
   * `POST /assets`: record a new upload and get the signed form for its bytes.
   * @param {string} contentType `image/png` or `image/jpeg`
   * @param {{signal?: AbortSignal} & UploadDetails} [options] empty details are not sent
   * @returns {Promise<CreatedUpload>}
   */
  createUpload(contentType, { signal, ...details } = {}) {
    /** @type {Record<string, string>} */
    const body = { contentType };
    for (const [name, value] of Object.entries(details)) {
      if (typeof value === "string" && value !== "") body[name] = value;
    }
    return this.#request("POST", "/assets", { body, signal });
  }

  /**
   * `GET /assets/{id}`: one of my assets, with its CDN URL once `ready`.
   * @param {string} assetId
   * @param {{signal?: AbortSignal}} [options]
   * @returns {Promise<Asset>}
   */
  async getAsset(assetId, { signal } = {}) {
    /** @type {{asset: Asset}} */
    const body = await this.#request("GET", `/assets/${encodeURIComponent(assetId)}`, { signal });
    return body.asset;
  }

  /**
   * `GET /assets`: a page of my assets, newest first; with `albumId`, only that album's.
   * @param {{limit?: number, cursor?: string | null, albumId?: string | null, signal?: AbortSignal}} [options]
   * @returns {Promise<AssetPage>}
   */
  async listAssets({ limit, cursor, albumId, signal } = {}) {
    /** @type {{assets: Asset[], nextCursor?: string | null}} */
    const body = await this.#request("GET", `/assets${queryString({ limit, cursor, albumId })}`, { signal });
    return { assets: body.assets, nextCursor: body.nextCursor ?? null };
  }

  /**
   * `PATCH /assets/{id}`: change its title, description or album (`null` clears).
   * @param {string} assetId
   * @param {AssetChanges} changes at least one
   * @returns {Promise<Asset>}
   */
  async updateAsset(assetId, changes) {
    /** @type {{asset: Asset}} */
    const body = await this.#request("PATCH", `/assets/${encodeURIComponent(assetId)}`, { body: changes });
    return body.asset;
  }

  /**
   * `GET /albums`: a page of my albums, newest first.
   * @param {{limit?: number, cursor?: string | null, signal?: AbortSignal}} [options]
   * @returns {Promise<AlbumPage>}
   */
  async listAlbums({ limit, cursor, signal } = {}) {
    /** @type {{albums: Album[], nextCursor?: string | null}} */
    const body = await this.#request("GET", `/albums${queryString({ limit, cursor })}`, { signal });
    return { albums: body.albums, nextCursor: body.nextCursor ?? null };
  }

  /**
   * `POST /albums`: a new album.
   * @param {string} name
   * @returns {Promise<Album>}
   */
  async createAlbum(name) {
    /** @type {{album: Album}} */
    const body = await this.#request("POST", "/albums", { body: { name } });
    return body.album;
  }

  /**
   * `PATCH /albums/{id}`: rename it.
   * @param {string} albumId
   * @param {string} name
   * @returns {Promise<Album>}
   */
  async renameAlbum(albumId, name) {
    /** @type {{album: Album}} */
    const body = await this.#request("PATCH", `/albums/${encodeURIComponent(albumId)}`, { body: { name } });
    return body.album;
  }

  /**
   * `DELETE /albums/{id}`: the album goes; its images stay, in no album.
   * @param {string} albumId
   * @returns {Promise<void>}
   */
  async deleteAlbum(albumId) {
    await this.#request("DELETE", `/albums/${encodeURIComponent(albumId)}`, {});
  }

  /**
   * `DELETE /assets/{id}`: remove the record, the original and the published image.
   * @param {string} assetId
   * @returns {Promise<void>}
   */
  async deleteAsset(assetId) {
    await this.#request("DELETE", `/assets/${encodeURIComponent(assetId)}`, {});
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {{body?: unknown, signal?: AbortSignal}} options
   * @returns {Promise<any>}
   */
  async #request(method, path, { body, signal }) {
    const token = this.#getToken();
    if (!token) throw new ApiError(401, "unauthorized", "not signed in");
    /** @type {Record<string, string>} */
    const headers = { Authorization: `Bearer ${token}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    let response;
    try {
      response = await this.#fetch(`${this.#baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) throw new ApiError(0, "timeout", "no answer in time");
      throw new ApiError(0, "network", error instanceof Error ? error.message : "network error");
    }
    if (response.status === 204) return undefined;
    /** @type {any} */
    let parsed = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    if (!response.ok) {
      const error = apiErrorFrom(response, parsed);
      if (error.code === "unauthorized") this.#onUnauthorized();
      throw error;
    }
    if (parsed === null) throw new ApiError(response.status, "invalid_response", "the API sent no JSON");
    return parsed;
  }
}

/**
 * `?limit=..&cursor=..`, leaving out what is not set ("" when nothing is).
 * @param {Record<string, string | number | null | undefined>} parameters
 * @returns {string}
 */
function queryString(parameters) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== undefined && value !== null && value !== "") query.set(name, String(value));
  }
  const text = query.toString();
  return text ? `?${text}` : "";
}

/**
 * An ApiError from a refusal: the API's `{"error", "code"}`, or a code for its status.
 * @param {Response} response
 * @param {any} body
 * @returns {ApiError}
 */
function apiErrorFrom(response, body) {
  const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  const code =
    typeof body?.code === "string"
      ? body.code
      : (CODE_FOR_STATUS[response.status] ?? (response.status >= 500 ? "service_unavailable" : "error"));
  const message =
    typeof body?.error === "string"
      ? body.error
      : typeof body?.message === "string"
        ? body.message
        : response.statusText;
  return new ApiError(
    response.status,
    code,
    message || `HTTP ${response.status}`,
    Number.isFinite(retryAfter) ? retryAfter : null,
  );
}
