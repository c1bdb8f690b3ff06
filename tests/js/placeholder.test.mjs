// The BlurHash placeholder: the vendored decoder is Wolt's, unmodified, and decodes what the
// worker's encoder (the `blurhash` PyPI package, worker/variants.py) makes.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { PLACEHOLDER_PIXELS, placeholderPixels, placeholderSize } from "../../site/js/placeholder.js";

// worker.variants.placeholder() of a 64 x 48 image of one colour, (200, 40, 40) ...
const SOLID = "L7M_9^]TfQ]T|_o1fQo1fQfQfQfQ";
// ... and of a 64 x 32 image red (220, 30, 30) on the left half, blue (30, 30, 220) on the right.
const SPLIT = "L^Iv%y|TsRJqsqn~jsa}fQfQfQfQ";

/** @returns {[number, number, number]} */
function pixel(pixels, width, x, y) {
  const at = (y * width + x) * 4;
  return [pixels[at], pixels[at + 1], pixels[at + 2]];
}

describe("the vendored decoder", () => {
  test("is npm's blurhash 2.0.5 dist/esm/index.js, byte for byte", () => {
    const source = readFileSync(new URL("../../site/js/vendor/blurhash/index.js", import.meta.url));
    assert.equal(
      createHash("sha256").update(source).digest("hex"),
      "0885da4f792c67bacbcae5e7ebb80d241009bf14ddfe5cbaa7d3d0b59e868c68",
    );
  });

  test("decodes a one-colour image to that colour, on average", () => {
    const pixels = placeholderPixels(SOLID, 32, 24);
    assert.equal(pixels.length, 32 * 24 * 4);
    const sum = [0, 0, 0];
    for (let at = 0; at < pixels.length; at += 4) for (let c = 0; c < 3; c += 1) sum[c] += pixels[at + c];
    const mean = sum.map((total) => total / (32 * 24));
    assert.ok(mean.every((value, c) => Math.abs(value - [200, 40, 40][c]) <= 2), `${mean}`);
    assert.equal(pixels[3], 255, "opaque");
  });

  test("decodes as the Python package's decoder does, pixel for pixel", () => {
    // blurhash.decode(SOLID, 4, 3) from the PyPI package the worker encodes with.
    const python = [
      [[219, 44, 44], [207, 42, 42], [207, 42, 42], [207, 42, 42]],
      [[215, 42, 42], [204, 41, 41], [204, 41, 41], [204, 41, 41]],
      [[207, 40, 40], [196, 39, 39], [196, 39, 39], [196, 39, 39]],
    ];
    const pixels = placeholderPixels(SOLID, 4, 3);
    python.forEach((row, y) =>
      row.forEach((expected, x) => {
        const actual = pixel(pixels, 4, x, y);
        assert.ok(actual.every((value, c) => Math.abs(value - expected[c]) <= 1), `${actual} vs ${expected} at ${x},${y}`);
      }),
    );
  });

  test("keeps where the colours are: red on the left, blue on the right", () => {
    const pixels = placeholderPixels(SPLIT, 32, 16);
    const [lr, , lb] = pixel(pixels, 32, 2, 8);
    const [rr, , rb] = pixel(pixels, 32, 29, 8);
    assert.ok(lr > 150 && lb < 100, `left ${lr},${lb}`);
    assert.ok(rb > 150 && rr < 100, `right ${rr},${rb}`);
  });

  test("a missing or malformed hash gives no placeholder instead of throwing", () => {
    assert.equal(placeholderPixels(undefined, 32, 32), null);
    assert.equal(placeholderPixels("", 32, 32), null);
    assert.equal(placeholderPixels("LEHV6nWB2yk8", 32, 32), null, "too short for its components");
    assert.equal(placeholderPixels(`${SOLID}xx`, 32, 32), null, "too long");
  });
});

test("the canvas keeps the image's shape, the longer side 32 pixels", () => {
  assert.deepEqual(placeholderSize(1600, 900), { width: PLACEHOLDER_PIXELS, height: 18 });
  assert.deepEqual(placeholderSize(300, 1200), { width: 8, height: PLACEHOLDER_PIXELS });
  assert.deepEqual(placeholderSize(5000, 1), { width: 32, height: 1 });
  assert.deepEqual(placeholderSize(undefined, undefined), { width: 32, height: 32 });
});
