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
 * The small image for a card: the `thumb` variant, else the image itself (assets made before
 * variants existed), and a `srcset` offering `display` too when it is larger, for screens with
 * dense pixels or wide cards.
 * @param {Asset} asset a ready one
 * @returns {{src: string, width?: number, height?: number, srcset?: string} | null}
 */
export function thumbnailSource(asset) {
  const thumb = asset.variants?.thumb;
  const display = asset.variants?.display;
  if (!thumb) return asset.url ? { src: asset.url, width: asset.width, height: asset.height } : null;
  /** @type {{src: string, width: number, height: number, srcset?: string}} */
  const source = { src: thumb.url, width: thumb.width, height: thumb.height };
  if (display && display.width > thumb.width) {
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
