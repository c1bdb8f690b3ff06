// @ts-check
/**
 * The "Upload an image" panel: file picker and drop zone, the transfer's progress bar, and the
 * status steps `uploading -> processing -> ready | rejected` as the API reports them.
 *
 * @module upload-panel
 */

import { ApiError, describeApiError } from "./api.js";
import { UploadError, checkFile, formatBytes, imageTypeOf, sendFile, waitUntilFinal } from "./upload.js";
import { STATUS_LABELS, byId, show } from "./ui.js";

/** @typedef {import("./api.js").ApiClient} ApiClient */
/** @typedef {import("./api.js").Asset} Asset */
/** @typedef {import("./api.js").CreatedUpload} CreatedUpload */
/** @typedef {import("./ui.js").Messages} Messages */

/** The abort reason of a sign-out: the page says what happened, not the upload. */
const SILENT_STOP = new DOMException("The page stopped the upload.", "AbortError");

/** The order of the steps; `ready`, `rejected` and `expired` all fill the last one. */
const STEP_ORDER = ["uploading", "processing", "final"];

/**
 * @typedef {object} UploadPanelOptions
 * @property {ApiClient} api
 * @property {Messages} messages
 * @property {number | null} maxUploadBytes the limit, if config.js gives it; else learnt from the first form
 * @property {(asset: Asset) => void} onFinished an upload reached a final status
 */

export class UploadPanel {
  #api;
  #messages;
  #onFinished;
  /** @type {number | null} */
  #maxBytes;
  /** @type {AbortController | null} */
  #controller = null;

  #dropzone = byId("dropzone");
  #input = byId("file", HTMLInputElement);
  #panel = byId("upload");
  #name = byId("upload-name");
  #size = byId("upload-size");
  #progress = byId("upload-progress", HTMLProgressElement);
  #percent = byId("upload-percent");
  #steps = byId("upload-steps");
  #outcome = byId("upload-outcome");
  #cancel = byId("upload-cancel", HTMLButtonElement);

  /** @param {UploadPanelOptions} options */
  constructor({ api, messages, maxUploadBytes, onFinished }) {
    this.#api = api;
    this.#messages = messages;
    this.#maxBytes = maxUploadBytes;
    this.#onFinished = onFinished;

    this.#input.addEventListener("change", () => {
      const file = this.#input.files?.[0];
      if (file) void this.upload(file);
    });
    this.#cancel.addEventListener("click", () => this.#controller?.abort());
    this.#wireDropzone();
  }

  /** True while a file is being sent or watched. */
  get busy() {
    return this.#controller !== null;
  }

  /** Stop whatever is in progress, without a word, and hide the panel (on sign-out). */
  reset() {
    this.#controller?.abort(SILENT_STOP);
    show(this.#panel, false);
    this.#input.value = "";
  }

  /**
   * Upload one file and follow it to its final status.
   * @param {File} file
   * @returns {Promise<void>}
   */
  async upload(file) {
    if (this.busy) {
      this.#messages.alert("One upload at a time: wait for the current one to finish.");
      return;
    }
    this.#messages.clearAlert();
    const problem = checkFile(file, this.#maxBytes);
    if (problem) {
      this.#messages.alert(problem);
      this.#input.value = "";
      return;
    }
    const controller = new AbortController();
    const { signal } = controller;
    this.#controller = controller;
    this.#begin(file);

    /** @type {CreatedUpload | null} */
    let created = null;
    let sent = false;
    try {
      created = await this.#api.createUpload(imageTypeOf(file), { signal });
      this.#maxBytes = created.upload.maxBytes;
      const tooLarge = checkFile(file, created.upload.maxBytes);
      if (tooLarge) throw new UploadError(tooLarge, "too_large");

      await sendFile(created.upload, file, {
        signal,
        onProgress: ({ loaded, total }) => this.#setProgress(loaded, total),
      });
      sent = true;
      this.#setProgress(1, 1);
      show(this.#cancel, false);
      this.#messages.announce(`${file.name} sent. Waiting for it to be checked…`);

      const asset = await waitUntilFinal(this.#api, created.asset.assetId, {
        signal,
        onStatus: (current) => this.#setStep(current.status),
      });
      this.#finish(file, asset);
      this.#onFinished(asset);
    } catch (error) {
      if (created && !sent) void this.#discard(created.asset.assetId);
      if (signal.reason !== SILENT_STOP) this.#fail(file, error, signal.aborted);
    } finally {
      this.#controller = null;
      show(this.#cancel, false);
      this.#input.disabled = false;
      this.#dropzone.classList.remove("dropzone--disabled");
      this.#input.value = "";
    }
  }

  /** @param {File} file */
  #begin(file) {
    this.#name.textContent = file.name;
    this.#size.textContent = formatBytes(file.size);
    this.#setProgress(0, 1);
    this.#setStep("uploading");
    show(this.#outcome, false);
    this.#outcome.className = "upload__outcome";
    show(this.#panel, true);
    show(this.#cancel, true);
    this.#input.disabled = true;
    this.#dropzone.classList.add("dropzone--disabled");
    this.#messages.announce(`Uploading ${file.name}…`);
  }

  /**
   * @param {number} loaded
   * @param {number} total
   */
  #setProgress(loaded, total) {
    const percent = total > 0 ? Math.min(100, Math.floor((loaded / total) * 100)) : 0;
    this.#progress.value = percent;
    this.#percent.textContent = `${percent}%`;
  }

  /**
   * Mark the steps before `status` done and its own step current; a final status fills the
   * last step (done for `ready`, failed otherwise).
   * @param {import("./api.js").AssetStatus} status
   */
  #setStep(status) {
    const finalStep = status === "ready" || status === "rejected" || status === "expired";
    const currentIndex = STEP_ORDER.indexOf(finalStep ? "final" : status);
    for (const item of this.#steps.querySelectorAll("li")) {
      const index = STEP_ORDER.indexOf(item.dataset.step ?? "");
      let state = index < currentIndex ? "done" : index === currentIndex ? "current" : "todo";
      if (index === currentIndex && finalStep) state = status === "ready" ? "done" : "failed";
      item.dataset.state = state;
      item.toggleAttribute("aria-current", index === currentIndex);
      if (index === currentIndex) item.setAttribute("aria-current", "step");
      if (item.dataset.step === "final") item.textContent = finalStep ? STATUS_LABELS[status] : STATUS_LABELS.ready;
    }
    this.#steps.dataset.status = status;
  }

  /** Mark the step the upload was at as failed (a refusal, a lost connection, a cancel). */
  #failStep() {
    const current = this.#steps.querySelector('li[data-state="current"]');
    if (current instanceof HTMLElement) current.dataset.state = "failed";
    this.#steps.dataset.status = "failed";
  }

  /**
   * @param {File} file
   * @param {Asset} asset in a final status
   */
  #finish(file, asset) {
    this.#setStep(asset.status);
    if (asset.status === "ready") {
      const size = asset.width && asset.height ? ` (${asset.width} × ${asset.height} pixels)` : "";
      this.#showOutcome(`${file.name} is ready${size}. It is in My images below.`, "ready");
      this.#messages.announce(`${file.name} is ready.`);
    } else if (asset.status === "rejected") {
      const reason = asset.error ?? "the image could not be validated";
      this.#showOutcome(`${file.name} was rejected: ${reason}`, "rejected");
      this.#messages.alert(`${file.name} was rejected: ${reason}`);
    } else {
      this.#showOutcome(`The upload of ${file.name} expired before the file arrived. Try again.`, "rejected");
      this.#messages.alert(`The upload of ${file.name} expired before the file arrived. Try again.`);
    }
  }

  /**
   * @param {File} file
   * @param {unknown} error
   * @param {boolean} cancelled
   */
  #fail(file, error, cancelled) {
    if (cancelled) {
      this.#failStep();
      this.#showOutcome(`The upload of ${file.name} was cancelled.`, "rejected");
      this.#messages.announce(`The upload of ${file.name} was cancelled.`);
      return;
    }
    // An expired session is reported once, by the page, as it signs out.
    if (error instanceof ApiError && error.code === "unauthorized") return;
    if (error instanceof UploadError && error.code === "still_processing") {
      this.#showOutcome(`${file.name} was sent. ${error.message}`, "pending");
      this.#messages.announce(`${file.name} was sent and is still being checked.`);
      return;
    }
    const message =
      error instanceof ApiError
        ? describeApiError(error)
        : error instanceof UploadError
          ? error.message
          : "Something went wrong with this upload. Try again.";
    if (!(error instanceof ApiError) && !(error instanceof UploadError)) console.error(error);
    this.#failStep();
    this.#showOutcome(`${file.name} was not uploaded: ${message}`, "rejected");
    this.#messages.alert(`${file.name} was not uploaded: ${message}`);
  }

  /**
   * @param {string} text
   * @param {"ready" | "rejected" | "pending"} tone
   */
  #showOutcome(text, tone) {
    this.#outcome.textContent = text;
    this.#outcome.className = `upload__outcome upload__outcome--${tone}`;
    show(this.#outcome, true);
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

  #wireDropzone() {
    const zone = this.#dropzone;
    /** @param {DragEvent} event */
    const carriesFiles = (event) => Array.from(event.dataTransfer?.types ?? []).includes("Files");
    for (const type of ["dragenter", "dragover"]) {
      zone.addEventListener(type, (event) => {
        const drag = /** @type {DragEvent} */ (event);
        if (!carriesFiles(drag)) return;
        drag.preventDefault();
        if (drag.dataTransfer) drag.dataTransfer.dropEffect = this.busy ? "none" : "copy";
        zone.classList.add("dropzone--over");
      });
    }
    zone.addEventListener("dragleave", (event) => {
      if (!zone.contains(/** @type {Node | null} */ (event.relatedTarget))) zone.classList.remove("dropzone--over");
    });
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("dropzone--over");
      const files = Array.from(event.dataTransfer?.files ?? []);
      if (files.length === 0) return;
      if (files.length > 1) this.#messages.announce(`One image at a time: uploading ${files[0].name}.`);
      void this.upload(files[0]);
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
}
