// @ts-check
/**
 * "My images": a page of the user's assets from `GET /assets` as cards with a status badge,
 * the published image for `ready` ones, delete with confirmation, and paging by cursor.
 *
 * @module gallery
 */

import { ApiError, describeApiError } from "./api.js";
import { STATUS_LABELS, TYPE_LABELS, byId, formatDateTime, show } from "./ui.js";
import { formatBytes } from "./upload.js";

/** @typedef {import("./api.js").ApiClient} ApiClient */
/** @typedef {import("./api.js").Asset} Asset */
/** @typedef {import("./ui.js").Messages} Messages */

/** What a card shows in place of an image that is not published. */
const PLACEHOLDERS = Object.freeze({
  uploading: "Waiting for the file",
  processing: "Being checked",
  rejected: "Not published",
  expired: "Never arrived",
  ready: "Image unavailable",
});

/**
 * @typedef {object} GalleryOptions
 * @property {ApiClient} api
 * @property {Messages} messages
 * @property {number} pageSize
 * @property {string} assetBaseUrl only image URLs under it are shown
 */

export class Gallery {
  #api;
  #messages;
  #pageSize;
  #assetBaseUrl;
  /** Cursors of the pages visited: `[null, cursorOfPage2, ...]`. */
  /** @type {(string | null)[]} */
  #cursors = [null];
  #page = 0;
  /** @type {string | null} */
  #nextCursor = null;
  /** Ignore answers to all but the latest load. */
  #generation = 0;

  #heading = byId("gallery-heading");
  #list = byId("gallery", HTMLUListElement);
  #empty = byId("gallery-empty");
  #pager = byId("pager");
  #newer = byId("page-newer", HTMLButtonElement);
  #older = byId("page-older", HTMLButtonElement);
  #pageLabel = byId("page-label");
  #refresh = byId("gallery-refresh", HTMLButtonElement);
  #template = byId("asset-card", HTMLTemplateElement);
  #dialog = byId("confirm-delete", HTMLDialogElement);
  #dialogText = byId("confirm-delete-text");

  /** @param {GalleryOptions} options */
  constructor({ api, messages, pageSize, assetBaseUrl }) {
    this.#api = api;
    this.#messages = messages;
    this.#pageSize = pageSize;
    this.#assetBaseUrl = assetBaseUrl;

    this.#refresh.addEventListener("click", () => void this.#load({ announce: true }));
    this.#newer.addEventListener("click", () => void this.#turn(-1));
    this.#older.addEventListener("click", () => void this.#turn(1));
    byId("confirm-delete-keep").addEventListener("click", () => this.#dialog.close("keep"));
    byId("confirm-delete-yes").addEventListener("click", () => this.#dialog.close("delete"));
  }

  /** Show the newest images (after sign-in, after an upload). */
  async showFirstPage() {
    this.#cursors = [null];
    this.#page = 0;
    await this.#load();
  }

  /** Forget everything shown (on sign-out). */
  clear() {
    this.#generation += 1;
    this.#cursors = [null];
    this.#page = 0;
    this.#nextCursor = null;
    this.#list.replaceChildren();
    show(this.#empty, false);
    show(this.#pager, false);
    if (this.#dialog.open) this.#dialog.close("keep");
  }

  /** @param {1 | -1} step */
  async #turn(step) {
    if (step === 1) {
      if (!this.#nextCursor) return;
      this.#cursors[this.#page + 1] = this.#nextCursor;
    } else if (this.#page === 0) {
      return;
    }
    this.#page += step;
    this.#cursors.length = this.#page + 1;
    await this.#load({ focus: true });
  }

  /**
   * Load and render the current page.
   * @param {{focus?: boolean, announce?: boolean, focusIndex?: number}} [options]
   * @returns {Promise<boolean>} false when the load failed or was overtaken
   */
  async #load({ focus = false, announce = false, focusIndex } = {}) {
    const generation = ++this.#generation;
    this.#list.setAttribute("aria-busy", "true");
    try {
      const page = await this.#api.listAssets({ limit: this.#pageSize, cursor: this.#cursors[this.#page] });
      if (generation !== this.#generation) return false;
      if (page.assets.length === 0 && this.#page > 0) {
        // The last image of a later page was deleted: show the page before it.
        this.#page -= 1;
        this.#cursors.length = this.#page + 1;
        return this.#load({ focus, announce, focusIndex });
      }
      this.#nextCursor = page.nextCursor;
      this.#render(page.assets);
      if (announce) this.#messages.announce(`My images: ${this.#summary(page.assets.length)}.`);
      if (focusIndex !== undefined) this.#focusCard(focusIndex);
      else if (focus) this.#heading.focus();
      return true;
    } catch (error) {
      if (generation !== this.#generation) return false;
      // An expired session is reported once, by the page, as it signs out.
      if (error instanceof ApiError && error.code !== "unauthorized") {
        this.#messages.alert(`Your images could not be loaded. ${describeApiError(error)}`);
      } else if (!(error instanceof ApiError)) {
        throw error;
      }
      return false;
    } finally {
      if (generation === this.#generation) this.#list.removeAttribute("aria-busy");
    }
  }

  /** @param {number} count */
  #summary(count) {
    const images = count === 1 ? "1 image" : `${count} images`;
    return this.#page === 0 && !this.#nextCursor ? images : `page ${this.#page + 1}, ${images}`;
  }

  /** @param {Asset[]} assets */
  #render(assets) {
    this.#list.replaceChildren(...assets.map((asset) => this.#card(asset)));
    show(this.#empty, assets.length === 0 && this.#page === 0);
    const paged = this.#page > 0 || this.#nextCursor !== null;
    show(this.#pager, paged);
    this.#newer.disabled = this.#page === 0;
    this.#older.disabled = this.#nextCursor === null;
    this.#pageLabel.textContent = `Page ${this.#page + 1}`;
  }

  /**
   * @param {Asset} asset
   * @returns {HTMLLIElement}
   */
  #card(asset) {
    const fragment = /** @type {DocumentFragment} */ (this.#template.content.cloneNode(true));
    const card = /** @type {HTMLLIElement} */ (fragment.querySelector(".card"));
    const type = TYPE_LABELS[asset.contentType] ?? asset.contentType;
    const when = formatDateTime(asset.createdAt);
    const description = `${type} image uploaded ${when}`;
    card.dataset.assetId = asset.assetId;
    card.dataset.status = asset.status;

    const media = /** @type {HTMLElement} */ (card.querySelector(".card__media"));
    const url = this.#publishedUrl(asset);
    if (url) {
      media.append(this.#image(asset, url, description));
    } else {
      media.append(placeholder(PLACEHOLDERS[asset.status] ?? STATUS_LABELS[asset.status]));
    }

    const badge = /** @type {HTMLElement} */ (card.querySelector(".badge"));
    badge.textContent = STATUS_LABELS[asset.status] ?? asset.status;
    badge.dataset.status = asset.status;

    const details = [type];
    if (asset.width && asset.height) details.push(`${asset.width} × ${asset.height}`);
    if (asset.bytes) details.push(formatBytes(asset.bytes));
    /** @type {HTMLElement} */ (card.querySelector(".card__meta")).textContent = details.join(" · ");

    const reason = /** @type {HTMLElement} */ (card.querySelector(".card__reason"));
    if (asset.status === "rejected" && asset.error) {
      reason.textContent = asset.error;
      show(reason, true);
    }

    const time = /** @type {HTMLTimeElement} */ (card.querySelector("time"));
    time.dateTime = asset.createdAt;
    time.textContent = when;

    const remove = /** @type {HTMLButtonElement} */ (card.querySelector(".card__delete"));
    remove.setAttribute("aria-label", `Delete ${description}`);
    remove.addEventListener("click", () => void this.#delete(asset, description, remove));
    return card;
  }

  /**
   * The image URL if the asset is ready and the URL is where this deployment publishes images;
   * a URL elsewhere is not shown (the API should never send one).
   * @param {Asset} asset
   * @returns {string | null}
   */
  #publishedUrl(asset) {
    if (asset.status !== "ready" || !asset.url) return null;
    if (!asset.url.startsWith(`${this.#assetBaseUrl}/`)) {
      console.warn(`not showing ${asset.assetId}: its URL is outside ${this.#assetBaseUrl}`);
      return null;
    }
    return asset.url;
  }

  /**
   * @param {Asset} asset
   * @param {string} url
   * @param {string} description
   * @returns {HTMLAnchorElement}
   */
  #image(asset, url, description) {
    const link = document.createElement("a");
    link.href = url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    link.className = "card__link";
    const image = document.createElement("img");
    image.src = url;
    image.alt = description;
    image.loading = "lazy";
    image.decoding = "async";
    if (asset.width && asset.height) {
      // Reserves the space before the image arrives, so the grid does not jump.
      image.width = asset.width;
      image.height = asset.height;
    }
    image.addEventListener("error", () => link.replaceWith(placeholder(PLACEHOLDERS.ready)), { once: true });
    link.append(image);
    return link;
  }

  /**
   * Ask, then delete; keep keyboard focus in the list afterwards.
   * @param {Asset} asset
   * @param {string} description
   * @param {HTMLButtonElement} button
   */
  async #delete(asset, description, button) {
    if (!(await this.#confirm(description))) {
      button.focus();
      return;
    }
    const index = Array.from(this.#list.children).findIndex(
      (card) => card instanceof HTMLElement && card.dataset.assetId === asset.assetId,
    );
    button.disabled = true;
    try {
      await this.#api.deleteAsset(asset.assetId);
      this.#messages.announce(`Deleted the ${description}.`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === "unauthorized") return;
      if (error.code !== "not_found") {
        button.disabled = false;
        button.focus();
        this.#messages.alert(`The image was not deleted. ${describeApiError(error)}`);
        return;
      }
      // Already gone (another tab): what the user wanted.
    }
    await this.#load({ focusIndex: Math.max(0, index) });
  }

  /**
   * The confirmation dialog: resolves true only for "Delete". Escape and "Keep it" say no.
   * @param {string} description
   * @returns {Promise<boolean>}
   */
  #confirm(description) {
    this.#dialogText.textContent = `The ${description} is removed for good, with its published copy.`;
    this.#dialog.returnValue = "";
    this.#dialog.showModal();
    return new Promise((resolve) => {
      this.#dialog.addEventListener("close", () => resolve(this.#dialog.returnValue === "delete"), { once: true });
    });
  }

  /**
   * After a deletion: focus the card that took the deleted one's place, else the heading.
   * @param {number} index
   */
  #focusCard(index) {
    const cards = this.#list.querySelectorAll(".card__delete");
    const target = cards[Math.min(index, cards.length - 1)];
    if (target instanceof HTMLElement) target.focus();
    else this.#heading.focus();
  }
}

/**
 * @param {string} text
 * @returns {HTMLElement}
 */
function placeholder(text) {
  const element = document.createElement("span");
  element.className = "card__placeholder";
  element.textContent = text;
  return element;
}
