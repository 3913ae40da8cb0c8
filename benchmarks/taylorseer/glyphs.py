"""A procedural image data set: 16x16 grayscale seven-segment digits.

Each image is one digit (the label, 0-9) drawn as the strokes of a
seven-segment display, with random position, size, width, italic shear,
rotation, stroke width, brightness and blur, rendered with anti-aliased
round-capped strokes. The data set ships as this code: `make_glyphs(n, seed)`
returns the same images and labels for the same arguments on every machine
(numpy's PCG64 generator; float64 parameters, float32 rendering). No download, no dependency
beyond numpy.

Pixel values are in [0, 1] (`to_model_space` maps them to [-1, 1], the range
the diffusion model works in).

Seeds used by the benchmark (`SEEDS`): the training set of the diffusion model
and of the classifier, a held-out set for the classifier's accuracy, and the
"real data" reference of the Fréchet distance, drawn independently.
"""

from __future__ import annotations

import numpy as np

#: Side of the square images, in pixels.
IMAGE_SIZE = 16
#: Number of classes (the digits 0-9).
NUM_CLASSES = 10

#: Seeds of the data sets the benchmark uses (independent draws).
SEEDS = {"train": 0, "classifier_test": 1, "reference": 2, "reference_b": 3}

# Segment end points in glyph units: x in [0, 1], y in [0, 2] (top to bottom).
_SEGMENTS = {
    "a": ((0.0, 0.0), (1.0, 0.0)),  # top
    "b": ((1.0, 0.0), (1.0, 1.0)),  # top right
    "c": ((1.0, 1.0), (1.0, 2.0)),  # bottom right
    "d": ((0.0, 2.0), (1.0, 2.0)),  # bottom
    "e": ((0.0, 1.0), (0.0, 2.0)),  # bottom left
    "f": ((0.0, 0.0), (0.0, 1.0)),  # top left
    "g": ((0.0, 1.0), (1.0, 1.0)),  # middle
}
_SEGMENT_ORDER = "abcdefg"
_DIGIT_SEGMENTS = {
    0: "abcdef",
    1: "bc",
    2: "abged",
    3: "abgcd",
    4: "fgbc",
    5: "afgcd",
    6: "afgedc",
    7: "abc",
    8: "abcdefg",
    9: "abcdfg",
}


def _segment_mask() -> np.ndarray:
    """(10, 7) boolean table: which segments each digit lights."""
    mask = np.zeros((NUM_CLASSES, len(_SEGMENT_ORDER)), dtype=bool)
    for digit, segments in _DIGIT_SEGMENTS.items():
        for s in segments:
            mask[digit, _SEGMENT_ORDER.index(s)] = True
    return mask


def _distance_to_segments(px, py, ax, ay, bx, by):
    """Distance of pixel centres (P,) to segments (N, S): shape (N, S, P)."""
    dx, dy = bx - ax, by - ay  # (N, S)
    length2 = np.maximum(dx * dx + dy * dy, 1e-12)
    rx = px[None, None, :] - ax[..., None]
    ry = py[None, None, :] - ay[..., None]
    t = np.clip((rx * dx[..., None] + ry * dy[..., None]) / length2[..., None], 0, 1)
    ex = rx - t * dx[..., None]
    ey = ry - t * dy[..., None]
    return np.sqrt(ex * ex + ey * ey)


def _blur(images: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Mix each image with its 3x3 binomial blur by `amount` (N,) in [0, 1]."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)), mode="constant")
    k = np.array([1.0, 2.0, 1.0]) / 4.0
    rows = (
        k[0] * padded[:, :-2, :] + k[1] * padded[:, 1:-1, :] + k[2] * padded[:, 2:, :]
    )
    blurred = k[0] * rows[:, :, :-2] + k[1] * rows[:, :, 1:-1] + k[2] * rows[:, :, 2:]
    a = amount[:, None, None]
    return (1.0 - a) * images + a * blurred


def make_glyphs(
    n: int, seed: int, labels: np.ndarray | None = None, chunk: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """Draw `n` glyph images with numpy's generator seeded by `seed`.

    Returns ``(images, labels)``: float32 (n, 16, 16) in [0, 1] and int64
    (n,). Labels are uniform over the ten digits unless `labels` (n,) is
    given. The result depends only on (n, seed, labels): every random number
    is drawn up front from one `numpy.random.Generator(PCG64(seed))`.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.Generator(np.random.PCG64(seed))
    if labels is None:
        labels = rng.integers(0, NUM_CLASSES, size=n)
    else:
        labels = np.asarray(labels, dtype=np.int64)
        if (
            labels.shape != (n,)
            or labels.min(initial=0) < 0
            or labels.max(initial=0) >= NUM_CLASSES
        ):
            raise ValueError("labels must be n integers in [0, 10)")
    # Random parameters, one row per image.
    unit = rng.uniform(4.2, 5.6, size=n)  # half the glyph height, pixels
    width = rng.uniform(0.55, 0.85, size=n)  # glyph width / height
    shear = rng.uniform(-0.3, 0.3, size=n)  # italic slant
    angle = np.deg2rad(rng.uniform(-12.0, 12.0, size=n))
    cx = (IMAGE_SIZE - 1) / 2 + rng.uniform(-1.5, 1.5, size=n)
    cy = (IMAGE_SIZE - 1) / 2 + rng.uniform(-1.0, 1.0, size=n)
    stroke = rng.uniform(1.1, 2.1, size=n)  # stroke width, pixels
    brightness = rng.uniform(0.75, 1.0, size=n)
    blur = rng.uniform(0.0, 0.8, size=n)

    mask = _segment_mask()[labels]  # (n, 7)
    seg = np.array([_SEGMENTS[s] for s in _SEGMENT_ORDER])  # (7, 2 ends, 2 xy)
    # Glyph units centred on the glyph: x in [-0.5, 0.5], y in [-1, 1].
    gx = seg[None, :, :, 0] - 0.5
    gy = seg[None, :, :, 1] - 1.0
    # Scale (x by the width), italic shear, rotation, translation.
    x = gx * (width * 2.0)[:, None, None] - shear[:, None, None] * gy
    y = gy
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    xr = (cos * x - sin * y) * unit[:, None, None] + cx[:, None, None]
    yr = (sin * x + cos * y) * unit[:, None, None] + cy[:, None, None]

    coords = np.arange(IMAGE_SIZE, dtype=np.float32)
    py, px = np.meshgrid(coords, coords, indexing="ij")
    px, py = px.ravel(), py.ravel()
    images = np.empty((n, IMAGE_SIZE * IMAGE_SIZE), dtype=np.float32)
    for start in range(0, n, chunk):
        sl = slice(start, min(n, start + chunk))
        ends = [
            a[sl].astype(np.float32)
            for a in (xr[..., 0], yr[..., 0], xr[..., 1], yr[..., 1])
        ]
        d = _distance_to_segments(px, py, *ends)
        d = np.where(mask[sl, :, None], d, np.inf).min(axis=1)  # (chunk, P)
        # Anti-aliased stroke: 1 inside, a one-pixel linear ramp at the edge.
        images[sl] = np.clip(stroke[sl, None] / 2 - d + 0.5, 0.0, 1.0)
    images = images.reshape(n, IMAGE_SIZE, IMAGE_SIZE)
    images = _blur(images, blur) * brightness[:, None, None]
    return np.clip(images, 0.0, 1.0).astype(np.float32), labels.astype(np.int64)


def to_model_space(images):
    """Map pixel values in [0, 1] to [-1, 1] (numpy array or torch tensor)."""
    return images * 2.0 - 1.0


def to_pixel_space(x):
    """Map model-space values to [0, 1], clipped (numpy array or torch tensor)."""
    y = (x + 1.0) / 2.0
    return y.clip(0.0, 1.0)


def balanced_labels(n: int) -> np.ndarray:
    """Labels 0, 1, ..., 9, 0, 1, ... (n,): equal class counts for sampling."""
    return np.arange(n, dtype=np.int64) % NUM_CLASSES
