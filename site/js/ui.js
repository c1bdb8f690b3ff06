// @ts-check
/**
 * Small DOM helpers the page's parts share: finding elements, the two live regions, and the
 * words and formats for statuses and dates. Text goes in with `textContent`, never as HTML.
 *
 * @module ui
 */

/** @typedef {import("./api.js").Asset} Asset */
/** @typedef {import("./api.js").AssetStatus} AssetStatus */

/** What each status is called on the page. */
export const STATUS_LABELS = Object.freeze(
  /** @type {Record<AssetStatus, string>} */ ({
    uploading: "Uploading",
    processing: "Checking",
    ready: "Ready",
    rejected: "Rejected",
    expired: "Expired",
  }),
);

/** The short name of an image type. */
export const TYPE_LABELS = Object.freeze(
  /** @type {Record<string, string>} */ ({ "image/png": "PNG", "image/jpeg": "JPEG" }),
);

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/**
 * The element with this id; a missing one is a bug in index.html, so it throws.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new (...args: any[]) => T} [type] the element class expected
 * @returns {T}
 */
export function byId(id, type) {
  const element = document.getElementById(id);
  if (!element || (type && !(element instanceof type))) throw new Error(`index.html has no suitable #${id}`);
  return /** @type {T} */ (element);
}

/**
 * Show or hide an element (the `hidden` attribute, which the stylesheet enforces).
 * @param {HTMLElement} element
 * @param {boolean} visible
 */
export function show(element, visible) {
  element.hidden = !visible;
}

/**
 * A date and time as the reader's locale writes it.
 * @param {string} iso
 * @returns {string}
 */
export function formatDateTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

/**
 * The page's two live regions: a polite status line for progress and outcomes, and an alert
 * for failures, which stays until dismissed or replaced.
 */
export class Messages {
  #status;
  #alert;
  #alertText;
  #alertClose;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #pending;

  constructor() {
    this.#status = byId("status");
    this.#alert = byId("alert");
    this.#alertText = byId("alert-text");
    this.#alertClose = byId("alert-close", HTMLButtonElement);
    this.#alertClose.addEventListener("click", () => this.clearAlert({ returnFocus: true }));
  }

  /**
   * Say something politely (progress, success).
   * @param {string} text
   */
  announce(text) {
    // Emptying first, then writing on the next task, makes a repeated message heard again.
    clearTimeout(this.#pending);
    this.#status.textContent = "";
    this.#pending = setTimeout(() => {
      this.#status.textContent = text;
    }, 30);
  }

  /** Empty the status line (when an alert says what happened instead). */
  quiet() {
    clearTimeout(this.#pending);
    this.#status.textContent = "";
  }

  /**
   * Report a failure; it stays visible until dismissed or replaced.
   * @param {string} text
   */
  alert(text) {
    this.quiet();
    this.#alert.classList.add("alert--shown");
    show(this.#alertClose, true);
    if (this.#alertText.textContent !== text) {
      this.#alertText.textContent = text;
      return;
    }
    // The same failure again: empty the region first, or it is not announced a second time.
    this.#alertText.textContent = "";
    setTimeout(() => {
      this.#alertText.textContent = text;
    }, 30);
  }

  /**
   * Remove the failure message.
   * @param {{returnFocus?: boolean}} [options] move focus to the main content (when the focused Dismiss button disappears)
   */
  clearAlert({ returnFocus = false } = {}) {
    this.#alertText.textContent = "";
    this.#alert.classList.remove("alert--shown");
    show(this.#alertClose, false);
    if (returnFocus) byId("main").focus();
  }
}
