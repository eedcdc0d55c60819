"""The built-in procedural defect dataset: the default every notebook and test runs on.

Three categories, named with a `synth_` prefix so they never collide with MVTec AD:
two textures (woven fabric, ceramic tiles) and one object (a machined washer). Normal
images vary in pose, lighting, colour and texture phase; about 20 % carry one defect of
a kind (scratch, hole, stain, crack, and a missing piece for the object) with a severity
from subtle to obvious and a pixel mask. Output is byte-identical for the same seed.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from asal.data.folders import assign_split
from asal.errors import AsalError
from asal.io import exclusive, staged_dir, write_csv

CATEGORIES = ("synth_fabric", "synth_tiles", "synth_washer")
TEXTURE_DEFECTS = ("scratch", "hole", "stain", "crack")
OBJECT_DEFECTS = ("scratch", "hole", "stain", "crack", "missing")
DEFECTS = {"synth_fabric": TEXTURE_DEFECTS, "synth_tiles": TEXTURE_DEFECTS,
           "synth_washer": OBJECT_DEFECTS}


def _grid(size):
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / size
    return x, y


def _lighting(rng, size, strength=0.12):
    """A smooth linear light gradient in a random direction."""
    x, y = _grid(size)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (x - 0.5) * math.cos(angle) + (y - 0.5) * math.sin(angle)
    return 1.0 + strength * rng.uniform(0.3, 1.0) * 2 * ramp


def _colour(rng, base, jitter=0.04):
    return np.clip(np.asarray(base) + rng.normal(0, jitter, 3), 0, 1)


def fabric(rng, size):
    """A plain weave: two crossing gratings with random phase, tilt and thread pitch."""
    x, y = _grid(size)
    tilt = math.radians(rng.uniform(-8, 8))
    u = x * math.cos(tilt) + y * math.sin(tilt)
    v = -x * math.sin(tilt) + y * math.cos(tilt)
    freq = rng.uniform(11, 14)
    pu, pv = rng.uniform(0, 2 * math.pi, 2)
    warp = 0.5 + 0.5 * np.sin(2 * math.pi * freq * u + pu)
    weft = 0.5 + 0.5 * np.sin(2 * math.pi * freq * v + pv)
    checker = np.sign(np.sin(math.pi * freq * u + pu / 2) * np.sin(math.pi * freq * v + pv / 2))
    weave = np.where(checker > 0, warp, weft)
    shade = 0.65 + 0.35 * weave + rng.normal(0, 0.03, (size, size))
    colour = _colour(rng, (0.25, 0.35, 0.6))
    img = shade[..., None] * colour[None, None] * _lighting(rng, size)[..., None]
    return np.clip(img, 0, 1), None


def tiles(rng, size):
    """Square ceramic tiles with grout lines; pitch, offset and glaze vary."""
    x, y = _grid(size)
    pitch = rng.uniform(0.22, 0.3)
    ox, oy = rng.uniform(0, pitch, 2)
    fx, fy = ((x + ox) % pitch) / pitch, ((y + oy) % pitch) / pitch
    grout_w = 0.06
    grout = (fx < grout_w) | (fy < grout_w)
    tile_id = np.floor((x + ox) / pitch) * 31 + np.floor((y + oy) / pitch)
    glaze = _colour(rng, (0.85, 0.78, 0.62), 0.03)
    # A small per-tile tint, repeatable from the tile index.
    tint = 1 + 0.04 * np.sin(tile_id * 12.9898 + rng.uniform(0, 6))
    img = glaze[None, None] * tint[..., None]
    img = img + rng.normal(0, 0.02, (size, size, 1))
    img[grout] = _colour(rng, (0.45, 0.43, 0.4), 0.02)
    img = img * _lighting(rng, size)[..., None]
    return np.clip(img, 0, 1), None


def washer(rng, size):
    """A metal washer with a keyway notch on a dark belt; position and turn vary."""
    x, y = _grid(size)
    cx, cy = 0.5 + rng.normal(0, 0.03, 2)
    r_out, r_in = rng.uniform(0.34, 0.37), rng.uniform(0.14, 0.16)
    dx, dy = x - cx, y - cy
    r = np.hypot(dx, dy)
    theta = np.arctan2(dy, dx)
    turn = rng.uniform(-math.pi, math.pi)
    notch = (np.abs(np.angle(np.exp(1j * (theta - turn)))) < 0.12) & (r > r_out - 0.06)
    part = (r < r_out) & (r > r_in) & ~notch
    light = rng.uniform(-math.pi, math.pi)
    metal = 0.62 + 0.18 * np.cos(theta - light) + 0.05 * np.cos(40 * r)
    background = 0.12 + rng.normal(0, 0.015, (size, size))
    img = np.where(part, metal, background)[..., None] * _colour(rng, (0.95, 0.95, 1.0), 0.02)
    img = img * _lighting(rng, size, 0.08)[..., None]
    return np.clip(img, 0, 1), part


RENDERERS = {"synth_fabric": fabric, "synth_tiles": tiles, "synth_washer": washer}


def _point_on(rng, size, region):
    """A random pixel, inside `region` when the category is an object."""
    if region is None:
        return rng.uniform(0.15, 0.85, 2) * size
    ys, xs = np.nonzero(region)
    i = rng.integers(len(xs))
    return np.array([xs[i], ys[i]], dtype=np.float64)


def _draw_mask(size, draw_fn) -> np.ndarray:
    canvas = Image.new("L", (size, size), 0)
    draw_fn(ImageDraw.Draw(canvas))
    return np.asarray(canvas) > 0


def add_defect(rng, img, region, kind, severity):
    """Paint one defect of `kind` onto img (H, W, 3 float); return the image and its mask."""
    size = img.shape[0]
    px, py = _point_on(rng, size, region)
    scale = size / 128
    if kind == "scratch":
        angle = rng.uniform(0, math.pi)
        half = (10 + 25 * severity) * scale
        end = (px + half * math.cos(angle), py + half * math.sin(angle))
        start = (px - half * math.cos(angle), py - half * math.sin(angle))
        width = max(1, round((1 + severity) * scale))
        mask = _draw_mask(size, lambda d: d.line([start, end], fill=255, width=width))
        colour, opacity = np.array([0.97, 0.97, 0.95]), 0.35 + 0.6 * severity
    elif kind == "hole":
        rad = (2.5 + 5 * severity) * scale
        mask = _draw_mask(size, lambda d: d.ellipse([px - rad, py - rad, px + rad, py + rad],
                                                    fill=255))
        colour, opacity = np.array([0.03, 0.03, 0.03]), 0.5 + 0.5 * severity
    elif kind == "stain":
        blobs = [(px + rng.normal(0, 4 * scale), py + rng.normal(0, 4 * scale),
                  (4 + 9 * severity) * scale * rng.uniform(0.6, 1.0)) for _ in range(3)]
        mask = _draw_mask(size, lambda d: [d.ellipse([bx - br, by - br, bx + br, by + br],
                                                     fill=255) for bx, by, br in blobs])
        colour, opacity = np.array([0.55, 0.35, 0.1]), 0.25 + 0.45 * severity
    elif kind == "crack":
        points, angle = [(px, py)], rng.uniform(0, 2 * math.pi)
        for _ in range(int(4 + 6 * severity)):
            angle += rng.normal(0, 0.6)
            step = rng.uniform(3, 7) * scale
            points.append((points[-1][0] + step * math.cos(angle),
                           points[-1][1] + step * math.sin(angle)))
        width = max(1, round((1 + severity) * scale))
        mask = _draw_mask(size, lambda d: d.line(points, fill=255, width=width, joint="curve"))
        colour, opacity = np.array([0.08, 0.06, 0.05]), 0.45 + 0.5 * severity
    elif kind == "missing":
        if region is None:
            raise AsalError("A 'missing' defect needs an object category.")
        x, y = _grid(size)
        cx, cy = (np.array(np.nonzero(region))[::-1].mean(axis=1)) / size
        theta = np.arctan2(y - cy, x - cx)
        start = rng.uniform(-math.pi, math.pi)
        span = 0.25 + 0.6 * severity
        wedge = np.abs(np.angle(np.exp(1j * (theta - start)))) < span / 2
        mask = wedge & region
        colour, opacity = img[~region].mean(axis=0), 1.0  # the belt shows through
    else:
        raise AsalError(f"Unknown defect kind '{kind}'.")
    if region is not None and kind != "missing":
        mask &= region
    out = img.copy()
    out[mask] = (1 - opacity) * img[mask] + opacity * colour
    return out, mask


def _to_png(array: np.ndarray, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format="PNG", optimize=False)


def render_category(category: str, n_images: int, anomaly_ratio: float, size: int,
                    seed: int):
    """Yield (name, label, defect, severity, image uint8, mask bool or None) per image."""
    rng = np.random.default_rng([seed, CATEGORIES.index(category)])
    n_anomaly = int(round(n_images * anomaly_ratio))
    kinds = DEFECTS[category]
    for i in range(n_images):
        img, region = RENDERERS[category](rng, size)
        if i < n_images - n_anomaly:
            yield f"good_{category}_{i:03d}.png", 0, "good", 0.0, img, None
            continue
        kind = kinds[i % len(kinds)]
        severity = float(rng.uniform(0.15, 1))  # the subtlest still visible up close
        img, mask = add_defect(rng, img, region, kind, severity)
        if not mask.any():   # a defect must show; re-draw it at full severity
            img, mask = add_defect(rng, img, region, kind, 1.0)
        yield f"anomaly_{category}_{kind}_{i:03d}.png", 1, kind, round(severity, 3), img, mask


def make_category(dest: Path, category: str, n_images: int = 200,
                  anomaly_ratio: float = 0.2, size: int = 128, seed: int = 0,
                  test_fraction: float = 0.2) -> pd.DataFrame:
    rows, arrays = [], {}
    for name, label, defect, severity, img, mask in render_category(
            category, n_images, anomaly_ratio, size, seed):
        rows.append({"name": name, "label": label, "defect": defect, "severity": severity})
        arrays[name] = ((img * 255).round().astype(np.uint8), mask)
    frame = pd.DataFrame(rows)
    frame = assign_split(frame, category, seed, test_fraction, frame.label == 1)
    with exclusive(dest / category, f"building {dest / category}"), \
            staged_dir(dest / category) as staging:
        for row in frame.itertuples():
            img, mask = arrays[row.name]
            _to_png(img, staging / Path(row.path).relative_to(category))
            if mask is not None:
                _to_png(mask.astype(np.uint8) * 255, staging / Path(row.mask).relative_to(category))
        columns = ["path", "label", "defect", "severity", "split", "mask"]
        write_csv(staging / "manifest.csv", frame[columns].sort_values("path"))
    return frame


def make_synthetic(dest="data", categories=CATEGORIES, n_images: int = 200,
                   anomaly_ratio: float = 0.2, size: int = 128, seed: int = 0,
                   test_fraction: float = 0.2) -> dict[str, pd.DataFrame]:
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown:
        raise AsalError(f"Unknown synthetic category '{unknown[0]}'; use some of {CATEGORIES}.")
    if n_images < 20 or not 0.05 <= anomaly_ratio <= 0.5:
        raise AsalError("make-synthetic needs at least 20 images and an anomaly ratio between "
                        "0.05 and 0.5.")
    if size < 32:
        raise AsalError(f"Synthetic image size must be at least 32 px, not {size}.")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    return {c: make_category(dest, c, n_images, anomaly_ratio, size, seed, test_fraction)
            for c in categories}


def ensure_synthetic(data_root, category: str, seed: int = 0):
    """Make the built-in data on first use, so notebooks run on a fresh checkout.

    Two notebooks started together on a fresh data root both get here: the lock lets one
    build the category while the other waits, then finds it built.
    """
    target = Path(data_root) / category
    if category not in CATEGORIES or (target / "manifest.csv").exists():
        return
    with exclusive(target, f"building {target}"):
        if not (target / "manifest.csv").exists():
            make_synthetic(data_root, [category], seed=seed)


def contact_sheet(data_root, categories=CATEGORIES, per_class: int = 4):
    """A figure with normal and defective samples (mask outlined) of every category."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(categories), 2 * per_class,
                             figsize=(2 * per_class * 1.3, len(categories) * 1.45))
    axes = np.atleast_2d(axes)
    for r, cat in enumerate(categories):
        manifest = pd.read_csv(Path(data_root) / cat / "manifest.csv", keep_default_na=False)
        good = manifest[manifest.label == 0].head(per_class)
        # the strongest and the subtlest defects of each kind, to show the range
        bad = manifest[manifest.label == 1].sort_values("severity")
        bad = pd.concat([bad.head(per_class // 2), bad.tail(per_class - per_class // 2)])
        for c, row in enumerate(list(good.itertuples()) + list(bad.itertuples())):
            ax = axes[r, c]
            ax.imshow(Image.open(Path(data_root) / row.path))
            if row.mask:
                ax.contour(np.asarray(Image.open(Path(data_root) / row.mask)) > 0,
                           levels=[0.5], colors="red", linewidths=0.6)
            title = "good" if row.label == 0 else f"{row.defect} ({row.severity:.2f})"
            ax.set_title(title, fontsize=6)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(cat, fontsize=7)
    fig.tight_layout()
    return fig
