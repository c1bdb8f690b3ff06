// @ts-check
/**
 * The BlurHash `placeholder` of a ready asset, painted on a small canvas that is shown, scaled
 * up and blurred by the stylesheet, until the image itself has loaded. The decoder is Wolt's own
 * (vendor/blurhash, MIT), served from this site.
 *
 * @module placeholder
 */

import { decode, isBlurhashValid } from "./vendor/blurhash/index.js";

/** Pixels on each side of the decoded placeholder: enough for a blur, cheap to decode. */
export const PLACEHOLDER_PIXELS = 32;

/**
 * The placeholder's RGBA pixels, or null for a missing or malformed hash.
 * @param {string | undefined} hash
 * @param {number} width
 * @param {number} height
 * @returns {Uint8ClampedArray | null}
 */
export function placeholderPixels(hash, width, height) {
  if (!hash || !isBlurhashValid(hash).result) return null;
  return decode(hash, width, height);
}

/**
 * The canvas size for an image of this shape: the longer side `PLACEHOLDER_PIXELS`.
 * @param {number | undefined} imageWidth
 * @param {number | undefined} imageHeight
 * @returns {{width: number, height: number}}
 */
export function placeholderSize(imageWidth, imageHeight) {
  if (!imageWidth || !imageHeight) return { width: PLACEHOLDER_PIXELS, height: PLACEHOLDER_PIXELS };
  const scale = PLACEHOLDER_PIXELS / Math.max(imageWidth, imageHeight);
  return {
    width: Math.max(1, Math.round(imageWidth * scale)),
    height: Math.max(1, Math.round(imageHeight * scale)),
  };
}

/**
 * A canvas with the asset's placeholder painted on it, or null when it has none.
 * @param {{placeholder?: string, width?: number, height?: number}} asset
 * @returns {HTMLCanvasElement | null}
 */
export function placeholderCanvas(asset) {
  const { width, height } = placeholderSize(asset.width, asset.height);
  const pixels = placeholderPixels(asset.placeholder, width, height);
  if (!pixels) return null;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  if (!context) return null;
  context.putImageData(new ImageData(pixels, width, height), 0, 0);
  canvas.setAttribute("aria-hidden", "true");
  canvas.className = "placeholder";
  return canvas;
}
