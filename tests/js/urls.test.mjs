// Image URLs: which are shown, which size is drawn, and when signed ones are read again.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { CARD_MAX_SIDE, MIN_REFRESH_DELAY_MS, displaySource, expiresBefore, isPublishedUrl, refreshDelayMs, thumbnailSource } from "../../site/js/urls.js";

const NOW = Date.parse("2026-06-21T10:00:00Z");
const at = (seconds) => new Date(NOW + seconds * 1000).toISOString();
const variant = (name, width, height) => ({
  url: `https://cdn.example/assets/a1/${name}.webp?Expires=1&Signature=s&Key-Pair-Id=K`,
  width,
  height,
  contentType: "image/webp",
  bytes: 100,
});

describe("when signed URLs are read again", () => {
  test("an hour-long URL is refreshed a minute before it expires", () => {
    assert.equal(refreshDelayMs([{ urlExpiresAt: at(3600) }], NOW), 3540_000);
  });

  test("a short-lived URL is refreshed with a quarter of its time left", () => {
    assert.equal(refreshDelayMs([{ urlExpiresAt: at(8) }], NOW), 6_000);
  });

  test("the soonest expiry of the page decides", () => {
    assert.equal(refreshDelayMs([{ urlExpiresAt: at(3600) }, { urlExpiresAt: at(40) }, {}], NOW), 30_000);
  });

  test("an expired or nearly expired URL is read again soon, never in a busy loop", () => {
    assert.equal(refreshDelayMs([{ urlExpiresAt: at(-30) }], NOW), MIN_REFRESH_DELAY_MS);
    assert.equal(refreshDelayMs([{ urlExpiresAt: at(1) }], NOW), MIN_REFRESH_DELAY_MS);
  });

  test("public URLs (no urlExpiresAt) are never refreshed", () => {
    assert.equal(refreshDelayMs([{ status: "ready" }, { urlExpiresAt: "not a date" }], NOW), null);
    assert.equal(refreshDelayMs([], NOW), null);
  });
});

describe("which image a card and the viewer draw", () => {
  const asset = {
    url: "https://cdn.example/assets/a1.png?Expires=1",
    width: 4000,
    height: 3000,
    variants: { thumb: variant("thumb", 320, 240), display: variant("display", 1600, 1200) },
  };

  test("cards draw the thumb, never a display variant longer than 640 px", () => {
    assert.equal(CARD_MAX_SIDE, 640);
    assert.deepEqual(thumbnailSource(asset), {
      src: asset.variants.thumb.url,
      width: 320,
      height: 240,
    });
    // A portrait: the thumb is 180 px wide, display 900 px tall; still only the thumb.
    const tall = { ...asset, variants: { thumb: variant("thumb", 180, 320), display: variant("display", 500, 900) } };
    assert.equal(thumbnailSource(tall).srcset, undefined);
  });

  test("a display variant at most 640 px long is offered for dense screens", () => {
    const medium = { ...asset, variants: { thumb: variant("thumb", 320, 240), display: variant("display", 640, 480) } };
    assert.deepEqual(thumbnailSource(medium), {
      src: medium.variants.thumb.url,
      width: 320,
      height: 240,
      srcset: `${medium.variants.thumb.url} 320w, ${medium.variants.display.url} 640w`,
    });
  });

  test("a small image's variants are the same size: no srcset", () => {
    const small = { ...asset, variants: { thumb: variant("thumb", 48, 32), display: variant("display", 48, 32) } };
    assert.equal(thumbnailSource(small).srcset, undefined);
  });

  test("the viewer draws display; an asset from before variants falls back to url", () => {
    assert.equal(displaySource(asset).src, asset.variants.display.url);
    const old = { url: asset.url, width: 10, height: 20 };
    assert.deepEqual(thumbnailSource(old), { src: asset.url, width: 10, height: 20 });
    assert.deepEqual(displaySource(old), { src: asset.url, width: 10, height: 20 });
    assert.equal(displaySource({}), null);
  });

  test("only URLs under the deployment's asset base are shown", () => {
    assert.ok(isPublishedUrl("https://cdn.example/assets/a1.png", "https://cdn.example/assets"));
    assert.ok(!isPublishedUrl("https://cdn.example/assetsX/a1.png", "https://cdn.example/assets"));
    assert.ok(!isPublishedUrl("https://evil.example/assets/a1.png", "https://cdn.example/assets"));
  });
});

describe("which copy of an asset is the newer", () => {
  test("the copy whose URLs expire sooner is the older one", () => {
    const early = { urlExpiresAt: "2026-12-02T10:00:00Z" };
    const late = { urlExpiresAt: "2026-12-02T10:00:05Z" };
    assert.equal(expiresBefore(early, late), true);
    assert.equal(expiresBefore(late, early), false);
    assert.equal(expiresBefore(late, late), false);
  });

  test("public URLs (no urlExpiresAt) are never older", () => {
    assert.equal(expiresBefore({}, { urlExpiresAt: "2026-12-02T10:00:00Z" }), false);
    assert.equal(expiresBefore({ urlExpiresAt: "2026-12-02T10:00:00Z" }, {}), false);
  });
});
