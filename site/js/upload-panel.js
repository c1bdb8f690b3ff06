// @ts-check
/**
 * The "Upload images" panel: the picker, the drop zone and paste feed the queue (queue.js); each
 * file gets a card with a local preview, its own progress bar, the status steps
 * `uploading -> processing -> ready | rejected` as the API reports them, and cancel or retry.
 *
 * @module upload-panel
 */

import { CANCELLABLE_STATES, RETRYABLE_STATES, SETTLED_STATES, UploadQueue } from "./queue.js";
import { STATUS_LABELS, byId, show } from "./ui.js";
import { formatBytes } from "./upload.js";

/** @typedef {import("./api.js").ApiClient} ApiClient */
/** @typedef {import("./api.js").Asset} Asset */
/** @typedef {import("./queue.js").QueueItem} QueueItem */
/** @typedef {import("./ui.js").Messages} Messages */

/** The order of the steps; `ready`, `rejected` and `expired` all fill the last one. */
const STEP_ORDER = ["uploading", "processing", "final"];

/**
 * @typedef {object} UploadPanelOptions
 * @property {ApiClient} api
 * @property {Messages} messages
 * @property {number | null} maxUploadBytes the limit, if config.js gives it; else learnt from the first form
 * @property {() => {albumId: string, name: string} | null} currentAlbum where new uploads go (the album shown)
 * @property {(asset: Asset) => void} onFinished an upload reached a final status
 * @property {(url: string) => boolean} isPublished whether an image URL is this deployment's
 */

/**
 * The parts of one card.
 * @typedef {object} Card
 * @property {HTMLLIElement} root
 * @property {HTMLElement} preview
 * @property {HTMLProgressElement} progress
 * @property {HTMLElement} percent
 * @property {HTMLElement} steps
 * @property {HTMLElement} outcome
 * @property {HTMLButtonElement} cancel
 * @property {HTMLButtonElement} retry
 * @property {HTMLButtonElement} dismiss
 * @property {string | null} objectUrl the preview's, revoked when the card goes
 */

export class UploadPanel {
  #messages;
  #onFinished;
  #currentAlbum;
  #isPublished;
  #queue;
  /** @type {Map<number, Card>} */
  #cards = new Map();
  /** Items whose final word was already said (announce once). */
  /** @type {Set<number>} */
  #reported = new Set();

  #dropzone = byId("dropzone");
  #input = byId("file", HTMLInputElement);
  #list = byId("queue", HTMLUListElement);
  #template = byId("queue-item", HTMLTemplateElement);
  #target = byId("upload-target");
  #signedIn = byId("signed-in");

  /** @param {UploadPanelOptions} options */
  constructor({ api, messages, maxUploadBytes, currentAlbum, onFinished, isPublished }) {
    this.#messages = messages;
    this.#onFinished = onFinished;
    this.#currentAlbum = currentAlbum;
    this.#isPublished = isPublished;
    this.#queue = new UploadQueue({ api, maxBytes: maxUploadBytes, onChange: (item) => this.#render(item) });

    this.#input.addEventListener("change", () => {
      const files = Array.from(this.#input.files ?? []);
      this.#input.value = "";
      this.add(files);
    });
    this.#wireDropzone();
    this.#wirePaste();
  }

  /** True while a file is being sent or watched. */
  get busy() {
    return this.#queue.busy;
  }

  /**
   * Queue files for upload into the album shown; none is left out: a refused one gets a card
   * with its reason.
   * @param {File[]} files
   */
  add(files) {
    if (files.length === 0) return;
    this.#messages.clearAlert();
    const album = this.#currentAlbum();
    const items = this.#queue.add(files, { albumId: album?.albumId ?? null });
    const refused = items.filter((item) => item.state === "refused");
    if (items.length > 1) {
      const into = album ? ` into ${album.name}` : "";
      this.#messages.announce(`${items.length - refused.length} of ${items.length} files queued for upload${into}.`);
    } else if (refused.length === 0) {
      this.#messages.announce(`Uploading ${items[0].file.name}…`);
    }
  }

  /** Show where new uploads go. */
  showTarget() {
    const album = this.#currentAlbum();
    this.#target.textContent = album ? `New uploads go into the album ${album.name}.` : "New uploads go into no album.";
  }

  /** Stop whatever is in progress, without a word, and forget the cards (on sign-out). */
  reset() {
    this.#queue.clear();
    for (const card of this.#cards.values()) this.#dropCard(card);
    this.#cards.clear();
    this.#reported.clear();
    this.#input.value = "";
  }

  /** @param {QueueItem} item */
  #render(item) {
    const card = this.#cards.get(item.id) ?? this.#createCard(item);
    const { state } = item;
    card.root.dataset.state = state;

    const percent =
      state === "checking" || (SETTLED_STATES.has(state) && item.assetId && state !== "failed" && state !== "cancelled")
        ? 100
        : item.progress.total > 0
          ? Math.min(100, Math.floor((item.progress.loaded / item.progress.total) * 100))
          : 0;
    if (card.progress.value !== percent) card.progress.value = percent;
    card.percent.textContent = `${percent}%`;

    this.#setSteps(card, item);
    const showOutcome = state !== "sending" && state !== "creating";
    card.outcome.textContent = item.message;
    card.outcome.className = `upload__outcome upload__outcome--${tone(state)}`;
    show(card.outcome, showOutcome && item.message !== "");

    show(card.cancel, CANCELLABLE_STATES.has(state));
    show(card.retry, RETRYABLE_STATES.has(state));
    show(card.dismiss, SETTLED_STATES.has(state));
    if (state === "ready" && item.asset) this.#showPublished(card, item.asset);
    this.#report(item);
  }

  /**
   * Say the final word once: politely for good news, as an alert for a refusal or failure.
   * @param {QueueItem} item
   */
  #report(item) {
    if (!SETTLED_STATES.has(item.state)) {
      this.#reported.delete(item.id);
      return;
    }
    if (this.#reported.has(item.id)) return;
    this.#reported.add(item.id);
    const name = item.file.name;
    switch (item.state) {
      case "ready":
        this.#messages.announce(`${name} is ready.`);
        break;
      case "cancelled":
        this.#messages.announce(item.message);
        break;
      case "pending":
        this.#messages.announce(`${name} was sent and is still being checked.`);
        break;
      default:
        this.#messages.alert(item.message);
    }
    if (item.asset) this.#onFinished(item.asset);
  }

  /**
   * @param {Card} card
   * @param {QueueItem} item
   */
  #setSteps(card, item) {
    const { state } = item;
    const finalStep = state === "ready" || state === "rejected" || state === "expired";
    const status = finalStep ? state : item.status === "processing" || state === "pending" ? "processing" : "uploading";
    const currentIndex = STEP_ORDER.indexOf(finalStep ? "final" : status);
    const stopped = state === "failed" || state === "cancelled" || state === "refused";
    for (const step of card.steps.querySelectorAll("li")) {
      const index = STEP_ORDER.indexOf(step.dataset.step ?? "");
      let mark = index < currentIndex ? "done" : index === currentIndex ? "current" : "todo";
      if (index === currentIndex && finalStep) mark = state === "ready" ? "done" : "failed";
      if (index === currentIndex && stopped) mark = "failed";
      step.dataset.state = mark;
      if (index === currentIndex) step.setAttribute("aria-current", "step");
      else step.removeAttribute("aria-current");
      if (step.dataset.step === "final") step.textContent = finalStep ? STATUS_LABELS[state] : STATUS_LABELS.ready;
    }
    const shown = stopped ? "failed" : status;
    if (card.steps.dataset.status !== shown) card.steps.dataset.status = shown;
  }

  /**
   * @param {QueueItem} item
   * @returns {Card}
   */
  #createCard(item) {
    const fragment = /** @type {DocumentFragment} */ (this.#template.content.cloneNode(true));
    const root = /** @type {HTMLLIElement} */ (fragment.querySelector("li"));
    const part = (/** @type {string} */ selector) => /** @type {HTMLElement} */ (root.querySelector(selector));
    const { file } = item;
    root.dataset.fileName = file.name;
    part(".upload__file").textContent = file.name;
    part(".upload__size").textContent = formatBytes(file.size);

    const progress = /** @type {HTMLProgressElement} */ (part("progress"));
    progress.id = `upload-progress-${item.id}`;
    /** @type {HTMLLabelElement} */ (part("label")).htmlFor = progress.id;
    progress.setAttribute("aria-label", `Sent of ${file.name}`);

    const cancel = /** @type {HTMLButtonElement} */ (part(".upload__cancel"));
    const retry = /** @type {HTMLButtonElement} */ (part(".upload__retry"));
    const dismiss = /** @type {HTMLButtonElement} */ (part(".upload__dismiss"));
    cancel.setAttribute("aria-label", `Cancel upload of ${file.name}`);
    retry.setAttribute("aria-label", `Retry upload of ${file.name}`);
    dismiss.setAttribute("aria-label", `Dismiss ${file.name}`);
    cancel.addEventListener("click", () => this.#queue.cancel(item.id));
    retry.addEventListener("click", () => {
      this.#messages.clearAlert();
      this.#queue.retry(item.id);
      if (RETRYABLE_STATES.has(item.state)) return;
      // The retry button disappears: keep the keyboard on this card.
      root.focus();
    });
    dismiss.addEventListener("click", () => this.#dismiss(item.id));

    /** @type {Card} */
    const card = {
      root,
      preview: part(".upload__preview"),
      progress,
      percent: part(".upload__percent"),
      steps: part(".steps"),
      outcome: part(".upload__outcome"),
      cancel,
      retry,
      dismiss,
      objectUrl: null,
    };
    this.#showPreview(card, file);
    this.#cards.set(item.id, card);
    this.#list.prepend(root);
    return card;
  }

  /**
   * The file as it is on this device, before anything is sent: an object URL (`blob:`), which
   * the page's CSP allows for images and nothing else.
   * @param {Card} card
   * @param {File} file
   */
  #showPreview(card, file) {
    if (!/^image\/(png|jpeg)$/.test(file.type)) {
      card.preview.append(previewText("No preview"));
      return;
    }
    card.objectUrl = URL.createObjectURL(file);
    const image = document.createElement("img");
    image.alt = `Preview of ${file.name}`;
    image.decoding = "async";
    image.addEventListener("error", () => image.replaceWith(previewText("No preview")), { once: true });
    image.src = card.objectUrl;
    card.preview.append(image);
  }

  /**
   * A ready upload shows its published thumbnail in place of the local preview.
   * @param {Card} card
   * @param {Asset} asset
   */
  #showPublished(card, asset) {
    const thumb = asset.variants?.thumb;
    const url = thumb?.url ?? asset.url;
    if (!url || !this.#isPublished(url) || card.root.dataset.published === "true") return;
    card.root.dataset.published = "true";
    const image = document.createElement("img");
    image.alt = `${asset.title ?? asset.fileName ?? "The image"}, as published`;
    image.decoding = "async";
    if (thumb) {
      image.width = thumb.width;
      image.height = thumb.height;
    }
    image.className = "upload__published";
    // Shown once it has loaded, so a slow CDN leaves the preview in place instead of a gap.
    image.addEventListener("load", () => card.preview.replaceChildren(image), { once: true });
    image.src = url;
  }

  /** @param {number} id */
  #dismiss(id) {
    const card = this.#cards.get(id);
    if (!card || !this.#queue.remove(id)) return;
    const next = card.root.nextElementSibling ?? card.root.previousElementSibling;
    this.#dropCard(card);
    this.#cards.delete(id);
    this.#reported.delete(id);
    const focusable = next?.querySelector("button:not([hidden])");
    if (focusable instanceof HTMLElement) focusable.focus();
    else byId("upload-heading").focus();
  }

  /** @param {Card} card */
  #dropCard(card) {
    if (card.objectUrl) URL.revokeObjectURL(card.objectUrl);
    card.root.remove();
  }

  #wireDropzone() {
    const zone = this.#dropzone;
    /** @param {DragEvent} event */
    const carriesFiles = (event) => Array.from(event.dataTransfer?.types ?? []).includes("Files");
    for (const type of ["dragenter", "dragover"]) {
      zone.addEventListener(type, (event) => {
        const drag = /** @type {DragEvent} */ (event);
        if (!carriesFiles(drag)) return;
        drag.preventDefault();
        if (drag.dataTransfer) drag.dataTransfer.dropEffect = "copy";
        zone.classList.add("dropzone--over");
      });
    }
    zone.addEventListener("dragleave", (event) => {
      if (!zone.contains(/** @type {Node | null} */ (event.relatedTarget))) zone.classList.remove("dropzone--over");
    });
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("dropzone--over");
      this.add(Array.from(event.dataTransfer?.files ?? []));
    });
    // A file dropped beside the zone would otherwise replace the page with the file.
    for (const type of ["dragover", "drop"]) {
      window.addEventListener(type, (event) => {
        const drag = /** @type {DragEvent} */ (event);
        if (carriesFiles(drag) && !zone.contains(/** @type {Node | null} */ (drag.target))) {
          drag.preventDefault();
          if (drag.dataTransfer) drag.dataTransfer.dropEffect = "none";
        }
      });
    }
  }

  /** Files pasted anywhere on the signed-in page (not into a text field) are uploaded. */
  #wirePaste() {
    document.addEventListener("paste", (event) => {
      if (this.#signedIn.hidden) return;
      const target = event.target;
      if (target instanceof HTMLInputElement && target.type !== "file") return;
      if (target instanceof HTMLTextAreaElement) return;
      const files = Array.from(event.clipboardData?.files ?? []);
      if (files.length === 0) return;
      event.preventDefault();
      this.add(files);
    });
  }
}

/**
 * @param {import("./queue.js").ItemState} state
 * @returns {"ready" | "rejected" | "pending"}
 */
function tone(state) {
  if (state === "ready") return "ready";
  if (state === "rejected" || state === "refused" || state === "failed" || state === "expired" || state === "cancelled") {
    return "rejected";
  }
  return "pending";
}

/**
 * @param {string} text
 * @returns {HTMLElement}
 */
function previewText(text) {
  const element = document.createElement("span");
  element.className = "upload__no-preview";
  element.textContent = text;
  return element;
}
