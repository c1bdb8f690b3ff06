// @ts-check
/**
 * Albums: the "Show" choice above My images (all images, or one album's), and making, renaming
 * and deleting albums. The album shown is also where new uploads go.
 *
 * @module albums
 */

import { ApiError, describeApiError } from "./api.js";
import { byId, show } from "./ui.js";

/** @typedef {import("./api.js").Album} Album */
/** @typedef {import("./api.js").ApiClient} ApiClient */
/** @typedef {import("./ui.js").Messages} Messages */

/** `GET /albums` pages read at most: the API allows `MAX_ALBUMS` (50 by default) per user. */
const MAX_PAGES = 10;

/**
 * @typedef {object} AlbumsOptions
 * @property {ApiClient} api
 * @property {Messages} messages
 * @property {(album: Album | null) => void} onShow the album to show changed (null: all images)
 * @property {() => void} onChanged albums were added, renamed or deleted
 */

export class Albums {
  #api;
  #messages;
  #onShow;
  #onChanged;
  /** @type {Album[]} */
  #albums = [];
  /** @type {string | null} */
  #currentId = null;
  /** @type {"create" | "rename"} */
  #mode = "create";

  #filter = byId("album-filter", HTMLSelectElement);
  #rename = byId("album-rename", HTMLButtonElement);
  #delete = byId("album-delete", HTMLButtonElement);
  #dialog = byId("album-dialog", HTMLDialogElement);
  #form = byId("album-form", HTMLFormElement);
  #title = byId("album-dialog-title");
  #name = byId("album-name", HTMLInputElement);
  #error = byId("album-error");
  #save = byId("album-save", HTMLButtonElement);
  #confirm = byId("confirm-album-delete", HTMLDialogElement);
  #confirmText = byId("confirm-album-delete-text");

  /** @param {AlbumsOptions} options */
  constructor({ api, messages, onShow, onChanged }) {
    this.#api = api;
    this.#messages = messages;
    this.#onShow = onShow;
    this.#onChanged = onChanged;

    this.#filter.addEventListener("change", () => this.#choose(this.#filter.value || null));
    byId("album-new").addEventListener("click", () => this.#openForm("create"));
    this.#rename.addEventListener("click", () => this.#openForm("rename"));
    this.#delete.addEventListener("click", () => void this.#remove());
    byId("album-cancel").addEventListener("click", () => this.#dialog.close());
    this.#form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.#submit();
    });
    byId("confirm-album-delete-keep").addEventListener("click", () => this.#confirm.close("keep"));
    byId("confirm-album-delete-yes").addEventListener("click", () => this.#confirm.close("delete"));
  }

  /** Every album, newest first. */
  get all() {
    return [...this.#albums];
  }

  /** The album shown, or null for all images. */
  get current() {
    return this.#albums.find((album) => album.albumId === this.#currentId) ?? null;
  }

  /**
   * An album's name, or null if it is not one of the user's (any more).
   * @param {string} albumId
   * @returns {string | null}
   */
  name(albumId) {
    return this.#albums.find((album) => album.albumId === albumId)?.name ?? null;
  }

  /** Read the user's albums (after sign-in, and after each change). */
  async load() {
    /** @type {Album[]} */
    const albums = [];
    let cursor = null;
    try {
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const answer = await this.#api.listAlbums({ limit: 100, cursor });
        albums.push(...answer.albums);
        cursor = answer.nextCursor;
        if (!cursor) break;
      }
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code !== "unauthorized") this.#messages.alert(`Your albums could not be loaded. ${describeApiError(error)}`);
      return;
    }
    this.#albums = albums;
    if (this.#currentId && !this.current) this.#currentId = null;
    this.#renderChoices();
  }

  /** Forget everything (on sign-out). */
  clear() {
    this.#albums = [];
    this.#currentId = null;
    this.#renderChoices();
    if (this.#dialog.open) this.#dialog.close();
    if (this.#confirm.open) this.#confirm.close("keep");
  }

  #renderChoices() {
    const all = document.createElement("option");
    all.value = "";
    all.textContent = "All images";
    const options = this.#albums.map((album) => {
      const option = document.createElement("option");
      option.value = album.albumId;
      option.textContent = `${album.name} (${album.assetCount})`;
      return option;
    });
    this.#filter.replaceChildren(all, ...options);
    this.#filter.value = this.#currentId ?? "";
    show(this.#rename, this.#currentId !== null);
    show(this.#delete, this.#currentId !== null);
  }

  /** @param {string | null} albumId */
  #choose(albumId) {
    this.#currentId = albumId;
    this.#renderChoices();
    const album = this.current;
    this.#messages.announce(album ? `Showing the album ${album.name}.` : "Showing all images.");
    this.#onShow(album);
  }

  /** @param {"create" | "rename"} mode */
  #openForm(mode) {
    this.#mode = mode;
    const album = this.current;
    this.#title.textContent = mode === "create" ? "New album" : "Rename album";
    this.#save.textContent = mode === "create" ? "Create" : "Rename";
    this.#name.value = mode === "rename" && album ? album.name : "";
    this.#setError("");
    this.#dialog.showModal();
    this.#name.focus();
  }

  async #submit() {
    const name = this.#name.value.trim();
    if (!name) {
      this.#setError("Give the album a name.");
      this.#name.focus();
      return;
    }
    this.#save.disabled = true;
    try {
      const album = this.current;
      if (this.#mode === "rename" && album) {
        await this.#api.renameAlbum(album.albumId, name);
        this.#messages.announce(`Renamed the album to ${name}.`);
      } else {
        const created = await this.#api.createAlbum(name);
        this.#currentId = created.albumId;
        this.#messages.announce(`Made the album ${name}; it is shown now, and new uploads go into it.`);
      }
      this.#dialog.close();
      await this.load();
      this.#onChanged();
      this.#onShow(this.current);
      this.#filter.focus();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === "unauthorized") return;
      this.#setError(error.code === "not_found" ? "That album no longer exists." : describeApiError(error));
      this.#name.focus();
    } finally {
      this.#save.disabled = false;
    }
  }

  async #remove() {
    const album = this.current;
    if (!album) return;
    this.#confirmText.textContent = `The album ${album.name} goes; its images stay, in no album.`;
    this.#confirm.returnValue = "";
    this.#confirm.showModal();
    const answer = await new Promise((resolve) => {
      this.#confirm.addEventListener("close", () => resolve(this.#confirm.returnValue), { once: true });
    });
    if (answer !== "delete") {
      this.#delete.focus();
      return;
    }
    try {
      await this.#api.deleteAlbum(album.albumId);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === "unauthorized") return;
      if (error.code !== "not_found") {
        this.#messages.alert(`The album was not deleted. ${describeApiError(error)}`);
        this.#delete.focus();
        return;
      }
    }
    this.#messages.announce(`Deleted the album ${album.name}. Its images are still in My images.`);
    this.#currentId = null;
    await this.load();
    this.#onChanged();
    this.#onShow(null);
    this.#filter.focus();
  }

  /** @param {string} text */
  #setError(text) {
    this.#error.textContent = text;
    if (text) this.#name.setAttribute("aria-invalid", "true");
    else this.#name.removeAttribute("aria-invalid");
  }
}
