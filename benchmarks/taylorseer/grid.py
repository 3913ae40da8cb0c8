"""Image grids as PNG files (Pillow), for the data set, samples and the benchmark."""

from __future__ import annotations

import numpy as np


def save_grid(
    rows,
    path,
    row_labels=None,
    scale: int = 3,
    pad: int = 2,
    label_width: int = 0,
):
    """Write a grid of grayscale images to `path` (PNG).

    `rows`: a sequence of arrays, each (k, H, W) in [0, 1]: one grid row each
    (rows may have different k). `row_labels`: optional text per row, drawn to
    the left in a column `label_width` pixels wide (Pillow's default font).
    Every image is magnified `scale` times (nearest neighbour).
    """
    from PIL import Image, ImageDraw

    rows = [np.asarray(r, dtype=np.float32) for r in rows]
    h, w = rows[0].shape[1:]
    cols = max(len(r) for r in rows)
    cell_h, cell_w = h * scale + pad, w * scale + pad
    if row_labels is not None and label_width == 0:
        label_width = 8 + 6 * max(len(s) for s in row_labels)
    canvas = np.full(
        (len(rows) * cell_h + pad, label_width + cols * cell_w + pad), 255, np.uint8
    )
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            big = np.kron(np.clip(img, 0, 1), np.ones((scale, scale)))
            y0 = pad + i * cell_h
            x0 = label_width + pad + j * cell_w
            canvas[y0 : y0 + h * scale, x0 : x0 + w * scale] = np.round(
                255 * (1 - big)
            ).astype(np.uint8)
    image = Image.fromarray(canvas, mode="L")
    if row_labels is not None:
        draw = ImageDraw.Draw(image)
        for i, text in enumerate(row_labels):
            draw.text((4, pad + i * cell_h + (h * scale) // 2 - 5), text, fill=0)
    image.save(path)
    return path
