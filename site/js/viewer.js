// @ts-check
/**
 * The viewer: a modal `<dialog>` showing one image of the list at its `display` size, with its
 * details (name, title, description, size, type, dates, album). Left and right arrows (and the
 * Previous / Next buttons) move through the ready images of the page; Escape closes it and
 * focus goes back to the card it was opened from.
 *
 * @module viewer
 */

import { placeholderCanvas } from "./placeholder.js";
import { TYPE_LABELS, byId, formatDateTime, show } from "./ui.js";
import { formatBytes } from "./upload.js";
import { displaySource, expiresBefore } from "./urls.js";

/** @typedef {import("./api.js").Asset} Asset */

/**
 * @typedef {object} ViewerOptions
 * @property {(assetId: string) => string | null} albumName the name of an album, or null
 * @property {(url: string) => boolean} isPublished whether an image URL is this deployment's
 * @property {(asset: Asset) => Promise<Asset | null>} reread a fresh copy of the asset (new URLs), or null if it is gone
 */

export class Viewer {
  #options;
  /** @type {Asset[]} */
  #assets = [];
  #index = 0;
  /** @type {HTMLElement | null} */
  #returnFocus = null;

  #dialog = byId("viewer", HTMLDialogElement);
  #title = byId("viewer-title");
  #media = byId("viewer-media");
  #caption = byId("viewer-caption");
  #details = byId("viewer-details");
  #previous = byId("viewer-previous", HTMLButtonElement);
  #next = byId("viewer-next", HTMLButtonElement);
  #position = byId("viewer-position");

  /** @param {ViewerOptions} options */
  constructor(options) {
    this.#options = options;
    byId("viewer-close").addEventListener("click", () => this.#dialog.close());
    this.#previous.addEventListener("click", () => this.#move(-1));
    this.#next.addEventListener("click", () => this.#move(1));
    this.#dialog.addEventListener("keydown", (event) => {
      if (event.target instanceof HTMLButtonElement && (event.key === "Enter" || event.key === " ")) return;
      if (event.key === "ArrowLeft") {
        event.preventDefault();
        this.#move(-1);
      } else if (event.key === "ArrowRight") {
        event.preventDefault();
        this.#move(1);
      }
    });
    this.#dialog.addEventListener("close", () => {
      this.#media.replaceChildren();
      this.#returnFocus?.focus();
      this.#returnFocus = null;
    });
  }

  /** Whether it is showing an image. */
  get open() {
    return this.#dialog.open;
  }

  /** The id of the image shown, or null. */
  get assetId() {
    return this.open ? (this.#assets[this.#index]?.assetId ?? null) : null;
  }

  /**
   * Show `asset`, one of `assets` (the ready images of the page, in order).
   * @param {Asset[]} assets
   * @param {Asset} asset
   * @param {HTMLElement} returnFocus where focus goes when it closes
   */
  show(assets, asset, returnFocus) {
    this.#assets = assets;
    this.#index = Math.max(0, assets.findIndex((each) => each.assetId === asset.assetId));
    this.#returnFocus = returnFocus;
    this.#render();
    if (!this.#dialog.open) this.#dialog.showModal();
    byId("viewer-close").focus();
  }

  /**
   * New copies of the page's assets (fresh URLs, edited details): what is shown follows them.
   * @param {Asset[]} assets
   */
  update(assets) {
    if (!this.open) return;
    const current = this.#assets[this.#index];
    const fresh = assets.filter((asset) => asset.status === "ready");
    const index = fresh.findIndex((asset) => asset.assetId === current?.assetId);
    if (index === -1) {
      this.#dialog.close();
      return;
    }
    // A copy read before the one shown (its URLs expire sooner) does not replace it: the image
    // shown may have just recovered from an expired URL that the older copy still carries.
    if (current && expiresBefore(fresh[index], current)) fresh[index] = current;
    const changed = JSON.stringify(fresh[index]) !== JSON.stringify(current);
    this.#assets = fresh;
    this.#index = index;
    if (changed) this.#render({ keepImage: displaySource(fresh[index])?.src === this.#imageUrl() });
  }

  /** Close it (on sign-out, or when the list it came from is gone). */
  close() {
    if (this.#dialog.open) this.#dialog.close();
  }

  /** @param {1 | -1} step */
  #move(step) {
    const next = this.#index + step;
    if (next < 0 || next >= this.#assets.length) return;
    this.#index = next;
    this.#render();
  }

  /** @returns {string | null} */
  #imageUrl() {
    const image = this.#media.querySelector("img");
    return image ? image.getAttribute("src") : null;
  }

  /** @param {{keepImage?: boolean}} [options] */
  #render({ keepImage = false } = {}) {
    const asset = this.#assets[this.#index];
    const name = asset.title ?? asset.fileName ?? `${TYPE_LABELS[asset.contentType] ?? "An"} image`;
    this.#title.textContent = name;
    this.#caption.textContent = asset.description ?? "";
    show(this.#caption, Boolean(asset.description));
    if (!keepImage) this.#showImage(asset, name);
    this.#showDetails(asset);
    this.#previous.disabled = this.#index === 0;
    this.#next.disabled = this.#index === this.#assets.length - 1;
    this.#position.textContent = `${this.#index + 1} of ${this.#assets.length}`;
  }

  /**
   * @param {Asset} asset
   * @param {string} name
   */
  #showImage(asset, name) {
    const source = displaySource(asset);
    const canvas = placeholderCanvas(asset);
    this.#media.replaceChildren(...(canvas ? [canvas] : []));
    if (!source || !this.#options.isPublished(source.src)) return;
    const image = document.createElement("img");
    image.alt = name;
    image.decoding = "async";
    if (source.width && source.height) {
      image.width = source.width;
      image.height = source.height;
    }
    image.addEventListener("load", () => canvas?.remove(), { once: true });
    image.addEventListener("error", () => void this.#recover(asset, image, source.src));
    image.src = source.src;
    this.#media.append(image);
  }

  /**
   * A URL that stopped working (it expired while the tab slept) is read again, once per URL.
   * @param {Asset} asset
   * @param {HTMLImageElement} image
   * @param {string} failed
   */
  async #recover(asset, image, failed) {
    if (image.dataset.failed === failed) return;
    image.dataset.failed = failed;
    const fresh = await this.#options.reread(asset);
    const source = fresh ? displaySource(fresh) : null;
    if (!source || source.src === failed || !this.#options.isPublished(source.src)) return;
    if (this.#assets[this.#index]?.assetId === asset.assetId && fresh) this.#assets[this.#index] = fresh;
    image.src = source.src;
  }

  /** @param {Asset} asset */
  #showDetails(asset) {
    /** @type {[string, string][]} */
    const rows = [];
    if (asset.fileName) rows.push(["Name", asset.fileName]);
    if (asset.title) rows.push(["Title", asset.title]);
    if (asset.description) rows.push(["Description", asset.description]);
    const size = [];
    if (asset.width && asset.height) size.push(`${asset.width} × ${asset.height} pixels`);
    if (asset.bytes) size.push(formatBytes(asset.bytes));
    if (size.length) rows.push(["Size", size.join(", ")]);
    rows.push(["Type", TYPE_LABELS[asset.contentType] ?? asset.contentType]);
    rows.push(["Uploaded", formatDateTime(asset.createdAt)]);
    if (asset.updatedAt !== asset.createdAt) rows.push(["Changed", formatDateTime(asset.updatedAt)]);
    rows.push(["Album", (asset.albumId && this.#options.albumName(asset.albumId)) || "None"]);
    this.#details.replaceChildren(
      ...rows.flatMap(([term, value]) => {
        const dt = document.createElement("dt");
        dt.textContent = term;
        const dd = document.createElement("dd");
        dd.textContent = value;
        return [dt, dd];
      }),
    );
  }
}
