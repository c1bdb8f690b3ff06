// @ts-check
/**
 * Image URLs as the API hands them out: where they may point, which size to draw, and when to
 * read them again. With signed delivery every URL stops working at the asset's `urlExpiresAt`;
 * the page never builds or edits one, it reads the asset (or the list) again before then.
 *
 * DOM-free: Node's test runner imports it.
 *
 * @module urls
 */

/** @typedef {import("./api.js").Asset} Asset */

/** Re-read no sooner than this after the last read, however close an expiry is. */
export const MIN_REFRESH_DELAY_MS = 1_000;
/** Re-read at the latest this long before a URL expires... */
const MAX_MARGIN_MS = 60_000;
/** ... or, for short-lived URLs, when a quarter of the time it had left remains. */
const MARGIN_FRACTION = 0.25;

/**
 * Whether `url` is one of this deployment's published images (under `assetBaseUrl`).
 * @param {string} url
 * @param {string} assetBaseUrl no trailing slash
 * @returns {boolean}
 */
export function isPublishedUrl(url, assetBaseUrl) {
  return url.startsWith(`${assetBaseUrl}/`);
}

/**
 * How long until the assets' URLs should be read again, or null when none expires.
 * @param {Asset[]} assets as just read
 * @param {number} now epoch ms
 * @returns {number | null}
 */
export function refreshDelayMs(assets, now) {
  let soonest = Infinity;
  for (const asset of assets) {
    if (!asset.urlExpiresAt) continue;
    const expiresAt = Date.parse(asset.urlExpiresAt);
    if (Number.isNaN(expiresAt)) continue;
    const remaining = expiresAt - now;
    const margin = Math.min(MAX_MARGIN_MS, Math.max(0, remaining) * MARGIN_FRACTION);
    soonest = Math.min(soonest, remaining - margin);
  }
  if (soonest === Infinity) return null;
  return Math.max(MIN_REFRESH_DELAY_MS, Math.round(soonest));
}

/**
 * The longest side a card may pull: twice the thumb's (320 px), enough for a card on a screen
 * with two device pixels per CSS pixel. `display` (up to 1600 px) joins a card's `srcset` only
 * when it is no longer than this, so a list never downloads a large image.
 */
export const CARD_MAX_SIDE = 640;

/**
 * The small image for a card: the `thumb` variant, else the image itself (assets made before
 * variants existed), and a `srcset` offering `display` too when it is larger than the thumb
 * but at most {@link CARD_MAX_SIDE} long, for screens with dense pixels.
 * @param {Asset} asset a ready one
 * @returns {{src: string, width?: number, height?: number, srcset?: string} | null}
 */
export function thumbnailSource(asset) {
  const thumb = asset.variants?.thumb;
  const display = asset.variants?.display;
  if (!thumb) return asset.url ? { src: asset.url, width: asset.width, height: asset.height } : null;
  /** @type {{src: string, width: number, height: number, srcset?: string}} */
  const source = { src: thumb.url, width: thumb.width, height: thumb.height };
  if (display && display.width > thumb.width && Math.max(display.width, display.height) <= CARD_MAX_SIDE) {
    source.srcset = `${thumb.url} ${thumb.width}w, ${display.url} ${display.width}w`;
  }
  return source;
}

/**
 * The size for a viewer: `display`, else the image itself.
 * @param {Asset} asset a ready one
 * @returns {{src: string, width?: number, height?: number} | null}
 */
export function displaySource(asset) {
  const display = asset.variants?.display;
  if (display) return { src: display.url, width: display.width, height: display.height };
  return asset.url ? { src: asset.url, width: asset.width, height: asset.height } : null;
}

/**
 * Whether `a`'s URLs stop working before `b`'s (assets without `urlExpiresAt` never do).
 * @param {Asset} a
 * @param {Asset} b
 * @returns {boolean}
 */
export function expiresBefore(a, b) {
  if (!a.urlExpiresAt || !b.urlExpiresAt) return false;
  return Date.parse(a.urlExpiresAt) < Date.parse(b.urlExpiresAt);
}
