// @ts-check
/**
 * "My images": a page of the user's assets from `GET /assets` (all of them, or the album
 * shown) as cards with a status badge, the `thumb` size of `ready` ones drawn over their
 * BlurHash placeholder, the viewer on a click, editing of the title, description and album,
 * delete with confirmation, and paging by cursor. Signed image URLs are read again before
 * they expire, and an image whose URL expired anyway (a tab whose timers slept) re-reads its
 * asset and loads again.
 *
 * @module gallery
 */

import { ApiError, describeApiError } from "./api.js";
import { placeholderCanvas } from "./placeholder.js";
import { STATUS_LABELS, TYPE_LABELS, byId, formatDateTime, show } from "./ui.js";
import { formatBytes } from "./upload.js";
import { isPublishedUrl, refreshDelayMs, thumbnailSource } from "./urls.js";

/** @typedef {import("./api.js").ApiClient} ApiClient */
/** @typedef {import("./api.js").Asset} Asset */
/** @typedef {import("./albums.js").Albums} Albums */
/** @typedef {import("./viewer.js").Viewer} Viewer */
/** @typedef {import("./ui.js").Messages} Messages */

/**
 * The width a card's image takes, for `sizes`: two columns on a phone, cards of 12rem and more
 * in a 60rem page above that (the stylesheet's grid).
 */
const CARD_SIZES = "(max-width: 30rem) 50vw, (max-width: 62rem) 33vw, 20rem";

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
 * @property {Albums} albums the album shown, and every album's name
 * @property {Viewer} viewer
 */

export class Gallery {
  #api;
  #messages;
  #pageSize;
  #assetBaseUrl;
  #albums;
  #viewer;
  /** The assets of the page shown, as last read. */
  /** @type {Asset[]} */
  #assets = [];
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #refreshTimer;
  /** @type {Asset | null} */
  #editing = null;
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
  #edit = byId("edit-asset", HTMLDialogElement);
  #editForm = byId("edit-form", HTMLFormElement);
  #editTitle = byId("edit-title", HTMLInputElement);
  #editDescription = byId("edit-description", HTMLTextAreaElement);
  #editAlbum = byId("edit-album", HTMLSelectElement);
  #editError = byId("edit-error");
  #editSave = byId("edit-save", HTMLButtonElement);

  /** @param {GalleryOptions} options */
  constructor({ api, messages, pageSize, assetBaseUrl, albums, viewer }) {
    this.#api = api;
    this.#messages = messages;
    this.#pageSize = pageSize;
    this.#assetBaseUrl = assetBaseUrl;
    this.#albums = albums;
    this.#viewer = viewer;
    byId("edit-cancel").addEventListener("click", () => this.#edit.close());
    this.#editForm.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.#saveEdit();
    });
    this.#edit.addEventListener("close", () => {
      const asset = this.#editing;
      this.#editing = null;
      if (asset) this.#cardOf(asset.assetId)?.querySelector(".card__edit")?.focus();
    });

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
    clearTimeout(this.#refreshTimer);
    this.#assets = [];
    this.#viewer.close();
    if (this.#edit.open) this.#edit.close();
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
      const page = await this.#api.listAssets(this.#query());
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

  /** What `GET /assets` is asked for the page shown. */
  #query() {
    return { limit: this.#pageSize, cursor: this.#cursors[this.#page], albumId: this.#albums.current?.albumId ?? null };
  }

  /**
   * Read the page again for fresh image URLs, and put them in place without redrawing the
   * cards (focus and scroll stay where they are).
   */
  async #refreshUrls() {
    const generation = this.#generation;
    let page;
    try {
      page = await this.#api.listAssets(this.#query());
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      // Try again soon: the URLs shown may still have a little time left.
      if (generation === this.#generation && error.code !== "unauthorized") {
        this.#refreshTimer = setTimeout(() => void this.#refreshUrls(), 5_000);
      }
      return;
    }
    if (generation !== this.#generation) return;
    const fresh = new Map(page.assets.map((asset) => [asset.assetId, asset]));
    this.#assets = this.#assets.map((asset) => {
      const newer = fresh.get(asset.assetId);
      if (newer) this.#updateImage(newer);
      return newer ?? asset;
    });
    this.#viewer.update(this.#readyAssets());
    this.#schedule();
  }

  /** Plan the next re-read of the URLs, before the soonest one expires. */
  #schedule() {
    clearTimeout(this.#refreshTimer);
    const delay = refreshDelayMs(this.#assets, Date.now());
    if (delay !== null) this.#refreshTimer = setTimeout(() => void this.#refreshUrls(), delay);
  }

  /** @returns {Asset[]} the page's images the viewer can show */
  #readyAssets() {
    return this.#assets.filter((asset) => asset.status === "ready" && thumbnailSource(asset));
  }

  /**
   * @param {string} assetId
   * @returns {HTMLElement | null}
   */
  #cardOf(assetId) {
    for (const card of this.#list.children) {
      if (card instanceof HTMLElement && card.dataset.assetId === assetId) return card;
    }
    return null;
  }

  /**
   * Point a card's image at the asset's current URLs.
   * @param {Asset} asset
   */
  #updateImage(asset) {
    const card = this.#cardOf(asset.assetId);
    const image = card?.querySelector(".card__link img");
    const link = card?.querySelector(".card__link");
    const source = thumbnailSource(asset);
    if (!(image instanceof HTMLImageElement) || !(link instanceof HTMLAnchorElement) || !source) return;
    if (!this.#shown(source.src)) return;
    if (asset.url && this.#shown(asset.url)) link.href = asset.url;
    if (image.getAttribute("src") === source.src) return;
    if (source.srcset) image.srcset = source.srcset;
    else image.removeAttribute("srcset");
    image.src = source.src;
  }

  /**
   * An image that failed to load (its URL expired while timers slept, or the CDN refused it):
   * read the asset again and load its new URL, once per URL; if nothing newer comes, say so.
   * @param {Asset} asset
   * @param {HTMLImageElement} image
   */
  async #recover(asset, image) {
    const failed = image.currentSrc || image.src;
    if (image.dataset.failed === failed) {
      image.closest(".card__link")?.replaceWith(placeholder(PLACEHOLDERS.ready));
      return;
    }
    image.dataset.failed = failed;
    let fresh = null;
    try {
      fresh = await this.#api.getAsset(asset.assetId);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    }
    const source = fresh ? thumbnailSource(fresh) : null;
    if (!fresh || !source || !this.#shown(source.src) || source.src === image.getAttribute("src")) {
      image.closest(".card__link")?.replaceWith(placeholder(PLACEHOLDERS.ready));
      return;
    }
    const index = this.#assets.findIndex((each) => each.assetId === asset.assetId);
    if (index !== -1) this.#assets[index] = fresh;
    this.#updateImage(fresh);
  }

  /** @param {number} count */
  #summary(count) {
    const images = count === 1 ? "1 image" : `${count} images`;
    return this.#page === 0 && !this.#nextCursor ? images : `page ${this.#page + 1}, ${images}`;
  }

  /** @param {Asset[]} assets */
  #render(assets) {
    this.#assets = assets;
    this.#list.replaceChildren(...assets.map((asset) => this.#card(asset)));
    const album = this.#albums.current;
    this.#empty.textContent = album ? `No images in ${album.name} yet. Upload some above: they go into it.` : "No images yet. Upload one above.";
    show(this.#empty, assets.length === 0 && this.#page === 0);
    this.#viewer.update(this.#readyAssets());
    this.#schedule();
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
    const description = describe(asset);
    card.dataset.assetId = asset.assetId;
    card.dataset.status = asset.status;

    const title = /** @type {HTMLElement} */ (card.querySelector(".card__title"));
    const name = asset.title ?? asset.fileName;
    if (name) title.textContent = name;
    else title.remove();

    const media = /** @type {HTMLElement} */ (card.querySelector(".card__media"));
    const source = asset.status === "ready" ? thumbnailSource(asset) : null;
    if (source && this.#shown(source.src)) {
      media.append(this.#image(asset, source, description));
    } else {
      if (source) console.warn(`not showing ${asset.assetId}: its URL is outside ${this.#assetBaseUrl}`);
      media.append(placeholder(PLACEHOLDERS[asset.status] ?? STATUS_LABELS[asset.status]));
    }

    const badge = /** @type {HTMLElement} */ (card.querySelector(".badge"));
    badge.textContent = STATUS_LABELS[asset.status] ?? asset.status;
    badge.dataset.status = asset.status;

    const details = [type];
    if (asset.width && asset.height) details.push(`${asset.width} × ${asset.height}`);
    if (asset.bytes) details.push(formatBytes(asset.bytes));
    /** @type {HTMLElement} */ (card.querySelector(".card__meta")).textContent = details.join(" · ");

    const albumName = asset.albumId ? this.#albums.name(asset.albumId) : null;
    const album = /** @type {HTMLElement} */ (card.querySelector(".card__album"));
    if (albumName && !this.#albums.current) {
      album.textContent = `In ${albumName}`;
      show(album, true);
    }

    const reason = /** @type {HTMLElement} */ (card.querySelector(".card__reason"));
    if (asset.status === "rejected" && asset.error) {
      reason.textContent = asset.error;
      show(reason, true);
    }

    const time = /** @type {HTMLTimeElement} */ (card.querySelector("time"));
    time.dateTime = asset.createdAt;
    time.textContent = when;

    const edit = /** @type {HTMLButtonElement} */ (card.querySelector(".card__edit"));
    edit.setAttribute("aria-label", `Edit ${description}`);
    edit.addEventListener("click", () => this.#openEdit(asset.assetId));
    const remove = /** @type {HTMLButtonElement} */ (card.querySelector(".card__delete"));
    remove.setAttribute("aria-label", `Delete ${description}`);
    remove.addEventListener("click", () => void this.#delete(asset, description, remove));
    return card;
  }

  /**
   * Whether an image URL is where this deployment publishes images; one elsewhere is not
   * shown (the API should never send one).
   * @param {string} url
   * @returns {boolean}
   */
  #shown(url) {
    return isPublishedUrl(url, this.#assetBaseUrl);
  }

  /**
   * The card's image: a link to the full image (opened in the viewer by a click or Enter, in a
   * tab by the browser's own means), the placeholder painted under the lazily loaded thumb.
   * @param {Asset} asset
   * @param {{src: string, width?: number, height?: number, srcset?: string}} source
   * @param {string} description
   * @returns {HTMLAnchorElement}
   */
  #image(asset, source, description) {
    const link = document.createElement("a");
    link.href = asset.url && this.#shown(asset.url) ? asset.url : source.src;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    link.className = "card__link";
    link.addEventListener("click", (event) => {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      const current = this.#assets.find((each) => each.assetId === asset.assetId) ?? asset;
      this.#viewer.show(this.#readyAssets(), current, link);
    });
    const canvas = placeholderCanvas(asset);
    if (canvas) link.append(canvas);
    const image = document.createElement("img");
    image.alt = description;
    image.loading = "lazy";
    image.decoding = "async";
    if (source.width && source.height) {
      // Reserves the space before the image arrives, so the grid does not jump.
      image.width = source.width;
      image.height = source.height;
    }
    if (source.srcset) {
      image.srcset = source.srcset;
      image.sizes = CARD_SIZES;
    }
    image.addEventListener("load", () => link.classList.add("card__link--loaded"));
    image.addEventListener("error", () => void this.#recover(asset, image));
    image.src = source.src;
    link.append(image);
    return link;
  }

  /**
   * The edit dialog for one asset: title, description, album.
   * @param {string} assetId
   */
  #openEdit(assetId) {
    const asset = this.#assets.find((each) => each.assetId === assetId);
    if (!asset) return;
    this.#editing = asset;
    byId("edit-asset-title").textContent = `Edit ${describe(asset)}`;
    this.#editTitle.value = asset.title ?? "";
    this.#editDescription.value = asset.description ?? "";
    const none = document.createElement("option");
    none.value = "";
    none.textContent = "No album";
    const options = this.#albums.all.map((album) => {
      const option = document.createElement("option");
      option.value = album.albumId;
      option.textContent = album.name;
      return option;
    });
    this.#editAlbum.replaceChildren(none, ...options);
    this.#editAlbum.value = asset.albumId && this.#albums.name(asset.albumId) ? asset.albumId : "";
    this.#editError.textContent = "";
    this.#edit.showModal();
    this.#editTitle.focus();
  }

  async #saveEdit() {
    const asset = this.#editing;
    if (!asset) return;
    /** @type {import("./api.js").AssetChanges} */
    const changes = {};
    const title = this.#editTitle.value.trim();
    const description = this.#editDescription.value.trim();
    const albumId = this.#editAlbum.value || null;
    if (title !== (asset.title ?? "")) changes.title = title || null;
    if (description !== (asset.description ?? "")) changes.description = description || null;
    const currentAlbum = asset.albumId && this.#albums.name(asset.albumId) ? asset.albumId : null;
    if (albumId !== currentAlbum) changes.albumId = albumId;
    if (Object.keys(changes).length === 0) {
      this.#edit.close();
      return;
    }
    this.#editSave.disabled = true;
    try {
      const saved = await this.#api.updateAsset(asset.assetId, changes);
      this.#edit.close();
      this.#messages.announce(`Saved the details of ${describe(saved)}.`);
      if ("albumId" in changes) await this.#albums.load();
      const shown = await this.#load();
      const edit = this.#cardOf(saved.assetId)?.querySelector(".card__edit");
      if (edit instanceof HTMLElement) edit.focus();
      else if (shown) this.#heading.focus();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === "unauthorized") return;
      this.#editError.textContent =
        error.code === "not_found" ? "That image, or the album chosen, no longer exists." : describeApiError(error);
      this.#editTitle.focus();
    } finally {
      this.#editSave.disabled = false;
    }
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
 * What a person calls the image: its title, else its file name, else its type and date.
 * @param {Asset} asset
 * @returns {string}
 */
function describe(asset) {
  const type = TYPE_LABELS[asset.contentType] ?? asset.contentType;
  return asset.title ?? asset.fileName ?? `${type} image uploaded ${formatDateTime(asset.createdAt)}`;
}

/**
 * @param {string} text
 * @returns {HTMLElement}
 */
function placeholder(text) {
  // (A text stand-in, for images that are not published; the BlurHash one is placeholder.js.)
  const element = document.createElement("span");
  element.className = "card__placeholder";
  element.textContent = text;
  return element;
}
