#!/usr/bin/env python3
"""Deterministic, seeded generator of captioned synthetic clips ("moving shapes") for the demo model.

    python3 tools/make_shapes.py --split train --count 20000 --out data/shapes/train
    python3 tools/make_shapes.py --split val   --count 500   --out data/shapes/val
    python3 tools/make_shapes.py --split test  --count 500   --out data/shapes/test

Every clip is SIZE x SIZE RGB (default 64), F frames (default 8): one shape (optionally two, see
--two-shapes) -- circle, square or triangle -- in one of 6 colours (red, green, blue, yellow,
magenta, cyan), moving in one of 8 directions (up, down, left, right, "up and to the left", ...)
at one of a few speeds (pixels per frame), bouncing off the walls, over a plain or lightly
textured background.  The caption names colour, shape and the *initial* direction, e.g.
"a red circle moving up and to the left".  The start position is drawn so that the first F/2
steps do not touch a wall; a later bounce reverses a velocity component (the number of bounces is
recorded in clips.tsv).

Clip i of a split is generated from numpy.random.default_rng(seed_base + i) alone, so splits are
disjoint by seed range (defaults: train 0.., val 10_000_000.., test 20_000_000..) and any clip
can be regenerated on its own.  Pure numpy (Pillow only for the optional preview PNG).

Output directory:
    clips.rgb    uint8, count x F x SIZE x SIZE x 3, raw (row-major, RGB interleaved)
    clips.tsv    header line, then one line per clip, tab separated:
                 index caption colour shape direction speed x0 y0 ... x{F-1} y{F-1}
                 n_shapes bounces colour2 shape2 direction2 speed2 x0_2 y0_2 ... ('-' when absent)
                 (x, y) = shape centroid in pixels; pixel (col c, row r) covers [c, c+1) x [r, r+1),
                 so the centre of the top-left pixel is (0.5, 0.5); y grows downwards.
    info.json    the parameters, the vocabulary, counts and the SHA-256 of clips.rgb
    preview.png  contact sheet of the first --preview clips (one row per clip), if Pillow is installed

--verify regenerates everything in memory and checks that the bytes are identical.
"""

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

COLOURS = {  # name -> RGB
    "red": (230, 40, 40),
    "green": (40, 200, 60),
    "blue": (50, 80, 240),
    "yellow": (240, 220, 40),
    "magenta": (230, 50, 220),
    "cyan": (40, 220, 230),
}
SHAPES = ("circle", "square", "triangle")
# name -> (dx, dy) unit direction, y grows downwards
DIRECTIONS = {
    "up": (0, -1),
    "down": (0, 1),
    "left": (-1, 0),
    "right": (1, 0),
    "up and to the left": (-1, -1),
    "up and to the right": (1, -1),
    "down and to the left": (-1, 1),
    "down and to the right": (1, 1),
}
SPEEDS = (1.5, 2.5, 3.5)         # pixels per frame along the direction
RADIUS = (7.0, 10.0)             # shape "radius" (circle radius, square half side / 0.85, triangle circumradius)
COLOUR_JITTER = 12               # +- per channel, uniform
TEXTURE_AMPLITUDE = 10.0         # +- grey levels of the light texture
SEED_BASES = {"train": 0, "val": 10_000_000, "test": 20_000_000}
SPLIT_SPAN = 10_000_000          # a split's seeds must stay below the next split's base

COLOUR_NAMES = tuple(COLOURS)
DIRECTION_NAMES = tuple(DIRECTIONS)


# --------------------------------------------------------------------------------------------
# drawing (signed-distance coverage = cheap 1-pixel anti-aliasing)

def _coverage(shape, cx, cy, r, gx, gy):
    """Fraction of each pixel covered by the shape (float32 SIZE x SIZE), via a clipped SDF."""
    x = gx - cx
    y = gy - cy
    if shape == "circle":
        sdf = np.sqrt(x * x + y * y) - r
    elif shape == "square":
        h = 0.85 * r
        sdf = np.maximum(np.abs(x), np.abs(y)) - h
    else:  # equilateral triangle pointing up, circumradius r, centroid at (cx, cy)
        # three half-planes with outward normals (0,1) [bottom], (+-sqrt3/2, -1/2) [sides];
        # inradius = r/2.  max of the plane distances is exact inside, a close bound outside.
        s = np.float32(np.sqrt(3.0) / 2.0)
        d1 = y - r / 2
        d2 = s * x - 0.5 * y - r / 2
        d3 = -s * x - 0.5 * y - r / 2
        sdf = np.maximum(np.maximum(d1, d2), d3)
    return np.clip(0.5 - sdf, 0.0, 1.0).astype(np.float32)


def _background(rng, size):
    """Plain or lightly textured, low-saturation background (float32 SIZE x SIZE x 3)."""
    level = rng.uniform(20.0, 110.0)
    tint = rng.uniform(-8.0, 8.0, size=3)
    bg = np.empty((size, size, 3), np.float32)
    bg[...] = (level + tint).astype(np.float32)
    kind = int(rng.integers(0, 3))  # 0 plain, 1 smooth noise, 2 stripes
    if kind == 1:
        g = rng.uniform(-1.0, 1.0, size=(5, 5)).astype(np.float32)
        t = np.linspace(0.0, 4.0, size, dtype=np.float32)
        i0 = np.minimum(t.astype(np.int64), 3)
        f = t - i0
        rows = g[i0] * (1 - f)[:, None] + g[i0 + 1] * f[:, None]            # (size, 5)
        tex = rows[:, i0] * (1 - f)[None, :] + rows[:, i0 + 1] * f[None, :]  # (size, size)
        bg += (TEXTURE_AMPLITUDE * tex)[..., None]
    elif kind == 2:
        period = rng.uniform(6.0, 16.0)
        ang = rng.uniform(0.0, np.pi)
        phase = rng.uniform(0.0, 2 * np.pi)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        tex = np.sin((xx * np.cos(ang) + yy * np.sin(ang)) * (2 * np.pi / period) + phase)
        bg += (0.6 * TEXTURE_AMPLITUDE * tex)[..., None].astype(np.float32)
    return bg, ("plain", "noise", "stripes")[kind]


def _trajectory(rng, frames, size, r, speed, d):
    """Per-frame centroids with reflection off the walls; returns (xs, ys, bounces)."""
    ux, uy = d
    n = np.hypot(ux, uy)
    vx, vy = speed * ux / n, speed * uy / n
    lo, hi = r, size - r
    # start where the first half of the clip moves freely (so the caption's initial direction is
    # what most frames show); later frames may bounce
    k = frames // 2
    x = rng.uniform(lo - min(0.0, vx * k), hi - max(0.0, vx * k))
    y = rng.uniform(lo - min(0.0, vy * k), hi - max(0.0, vy * k))
    xs, ys, bounces = [], [], 0
    for _ in range(frames):
        xs.append(x)
        ys.append(y)
        x += vx
        y += vy
        if x < lo or x > hi:
            x = 2 * lo - x if x < lo else 2 * hi - x
            vx = -vx
            bounces += 1
        if y < lo or y > hi:
            y = 2 * lo - y if y < lo else 2 * hi - y
            vy = -vy
            bounces += 1
    return xs, ys, bounces


def _draw_object(rng, exclude_colour=None):
    colours = [c for c in COLOUR_NAMES if c != exclude_colour]
    colour = colours[int(rng.integers(0, len(colours)))]
    shape = SHAPES[int(rng.integers(0, len(SHAPES)))]
    direction = DIRECTION_NAMES[int(rng.integers(0, len(DIRECTION_NAMES)))]
    speed = SPEEDS[int(rng.integers(0, len(SPEEDS)))]
    r = float(rng.uniform(*RADIUS))
    rgb = np.clip(np.array(COLOURS[colour], np.float32)
                  + rng.integers(-COLOUR_JITTER, COLOUR_JITTER + 1, size=3), 0, 255).astype(np.float32)
    return dict(colour=colour, shape=shape, direction=direction, speed=speed, r=r, rgb=rgb)


def make_clip(seed, frames=8, size=64, two_shapes=0.0):
    """One clip: (uint8 frames x size x size x 3, metadata dict).  Depends on `seed` only."""
    rng = np.random.default_rng(seed)
    bg, bg_kind = _background(rng, size)
    objs = [_draw_object(rng)]
    if two_shapes > 0 and rng.uniform() < two_shapes:
        objs.append(_draw_object(rng, exclude_colour=objs[0]["colour"]))
    for o in objs:
        o["xs"], o["ys"], o["bounces"] = _trajectory(rng, frames, size, o["r"], o["speed"],
                                                     DIRECTIONS[o["direction"]])
    gy, gx = np.mgrid[0:size, 0:size].astype(np.float32) + np.float32(0.5)
    out = np.empty((frames, size, size, 3), np.uint8)
    for f in range(frames):
        img = bg.copy()
        for o in objs:  # later objects are drawn on top
            a = _coverage(o["shape"], np.float32(o["xs"][f]), np.float32(o["ys"][f]),
                          np.float32(o["r"]), gx, gy)[..., None]
            img = img * (1 - a) + o["rgb"] * a
        out[f] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    parts = [f"a {o['colour']} {o['shape']} moving {o['direction']}" for o in objs]
    meta = dict(caption=" and ".join(parts), background=bg_kind, objects=objs)
    return out, meta


# --------------------------------------------------------------------------------------------
# split writer

def tsv_header(frames):
    cols = ["index", "caption", "colour", "shape", "direction", "speed"]
    cols += [f"{a}{f}" for f in range(frames) for a in ("x", "y")]
    cols += ["n_shapes", "bounces", "colour2", "shape2", "direction2", "speed2"]
    cols += [f"{a}{f}_2" for f in range(frames) for a in ("x", "y")]
    return "\t".join(cols)


def tsv_row(index, meta, frames):
    o = meta["objects"][0]
    row = [str(index), meta["caption"], o["colour"], o["shape"], o["direction"], f"{o['speed']:g}"]
    row += [f"{v:.3f}" for f in range(frames) for v in (o["xs"][f], o["ys"][f])]
    row += [str(len(meta["objects"])), str(sum(p["bounces"] for p in meta["objects"]))]
    if len(meta["objects"]) > 1:
        p = meta["objects"][1]
        row += [p["colour"], p["shape"], p["direction"], f"{p['speed']:g}"]
        row += [f"{v:.3f}" for f in range(frames) for v in (p["xs"][f], p["ys"][f])]
    else:
        row += ["-"] * (4 + 2 * frames)
    return "\t".join(row)


def generate(args, sink):
    """Generate all clips; sink(clip_bytes) is called per clip.  Returns (tsv lines, stats)."""
    lines = [tsv_header(args.frames)]
    stats = {"colour": {}, "shape": {}, "direction": {}, "speed": {}, "background": {},
             "n_shapes": {}, "clips_with_bounce": 0}
    for i in range(args.count):
        clip, meta = make_clip(args.seed_base + i, args.frames, args.size, args.two_shapes)
        sink(clip)
        lines.append(tsv_row(i, meta, args.frames))
        o = meta["objects"][0]
        for k in ("colour", "shape", "direction"):
            stats[k][o[k]] = stats[k].get(o[k], 0) + 1
        sp = f"{o['speed']:g}"
        stats["speed"][sp] = stats["speed"].get(sp, 0) + 1
        stats["background"][meta["background"]] = stats["background"].get(meta["background"], 0) + 1
        n = str(len(meta["objects"]))
        stats["n_shapes"][n] = stats["n_shapes"].get(n, 0) + 1
        stats["clips_with_bounce"] += int(any(p["bounces"] for p in meta["objects"]))
    return lines, stats


def write_preview(path, clips, frames, size, n):
    try:
        from PIL import Image
    except ImportError:
        print("make_shapes.py: Pillow not installed, preview skipped")
        return False
    n = min(n, clips.shape[0])
    if n == 0:
        return False
    gap = 2
    sheet = np.full((n * (size + gap) - gap, frames * (size + gap) - gap, 3), 255, np.uint8)
    for i in range(n):
        for f in range(frames):
            sheet[i * (size + gap):i * (size + gap) + size, f * (size + gap):f * (size + gap) + size] = clips[i, f]
    Image.fromarray(sheet).resize((sheet.shape[1] * 2, sheet.shape[0] * 2), Image.NEAREST).save(path)
    return True


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--split", choices=tuple(SEED_BASES), default="train")
    p.add_argument("--count", type=int, default=1000, help="number of clips (default 1000)")
    p.add_argument("--seed-base", type=int, default=None,
                   help="seed of clip 0 (default: train 0, val 10000000, test 20000000)")
    p.add_argument("--frames", type=int, default=8, help="frames per clip (default 8)")
    p.add_argument("--size", type=int, default=64, help="frame side in pixels (default 64)")
    p.add_argument("--two-shapes", type=float, default=0.0,
                   help="probability that a clip has a second shape (default 0: always one)")
    p.add_argument("--out", default=None, help="output directory (default data/shapes/<split>)")
    p.add_argument("--preview", type=int, default=8, help="clips in preview.png (0: none; default 8)")
    p.add_argument("--verify", action="store_true", help="regenerate and check the bytes are identical")
    args = p.parse_args(argv)

    if args.seed_base is None:
        args.seed_base = SEED_BASES[args.split]
    if args.count < 0 or args.frames < 1 or args.size < 2 * int(RADIUS[1]) + 4:
        p.error("bad --count/--frames/--size")
    base = SEED_BASES[args.split]
    if not (base <= args.seed_base and args.seed_base + args.count <= base + SPLIT_SPAN):
        print(f"make_shapes.py: warning: seeds {args.seed_base}..{args.seed_base + args.count - 1} leave the "
              f"{args.split} range [{base}, {base + SPLIT_SPAN}); splits may overlap", file=sys.stderr)
    out = args.out or os.path.join("data", "shapes", args.split)
    os.makedirs(out, exist_ok=True)

    t0 = time.time()
    clip_bytes = args.frames * args.size * args.size * 3
    rgb_path = os.path.join(out, "clips.rgb")
    h = hashlib.sha256()
    with open(rgb_path + ".tmp", "wb") as fh:
        def sink(c):
            b = c.tobytes()
            h.update(b)
            fh.write(b)
        lines, stats = generate(args, sink)
    os.replace(rgb_path + ".tmp", rgb_path)
    digest = h.hexdigest()
    with open(os.path.join(out, "clips.tsv"), "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")
    tsv_digest = hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()
    elapsed = time.time() - t0

    info = {
        "generator": "tools/make_shapes.py",
        "split": args.split, "count": args.count, "seed_base": args.seed_base,
        "seed_of_clip_i": "seed_base + i (numpy.random.default_rng)",
        "frames": args.frames, "size": args.size, "channels": 3, "dtype": "uint8",
        "layout": "count x frames x size x size x 3 (RGB), raw",
        "two_shapes": args.two_shapes,
        "colours": COLOURS, "shapes": list(SHAPES), "directions": {k: list(v) for k, v in DIRECTIONS.items()},
        "speeds_px_per_frame": list(SPEEDS), "radius_range": list(RADIUS),
        "colour_jitter": COLOUR_JITTER, "texture_amplitude": TEXTURE_AMPLITUDE,
        "caption": "'a <colour> <shape> moving <direction>' (initial direction; ' and ' joins a second shape)",
        "centroid_convention": "pixels; pixel (c, r) covers [c,c+1)x[r,r+1); y down",
        "numpy": np.__version__,
        "sha256_clips_rgb": digest, "sha256_clips_tsv": tsv_digest,
        "stats": stats,
    }
    with open(os.path.join(out, "info.json"), "w") as fh:
        json.dump(info, fh, indent=1)
        fh.write("\n")

    preview = False
    if args.preview > 0 and args.count > 0:
        clips = np.memmap(rgb_path, np.uint8, "r", shape=(args.count, args.frames, args.size, args.size, 3))
        preview = write_preview(os.path.join(out, "preview.png"), clips, args.frames, args.size, args.preview)

    print(f"make_shapes.py: {args.split}: {args.count} clips x {args.frames} frames x {args.size}x{args.size} "
          f"(seeds {args.seed_base}..{args.seed_base + args.count - 1}) -> {out}/ "
          f"({args.count * clip_bytes / 1e6:.1f} MB) in {elapsed:.1f} s")
    print(f"  sha256 clips.rgb {digest[:16]}  clips.tsv {tsv_digest[:16]}"
          + ("  preview.png" if preview else ""))
    for k in ("colour", "shape", "direction", "speed", "background", "n_shapes"):
        print(f"  {k}: " + ", ".join(f"{a}={b}" for a, b in sorted(stats[k].items())))
    print(f"  clips with a bounce: {stats['clips_with_bounce']}")
    if args.count:
        print("  first captions: " + " | ".join(l.split("\t")[1] for l in lines[1:4]))

    if args.verify:
        h2 = hashlib.sha256()
        lines2, _ = generate(args, lambda c: h2.update(c.tobytes()))
        ok = h2.hexdigest() == digest and lines2 == lines
        print(f"  verify: {'identical bytes' if ok else 'MISMATCH'}")
        if not ok:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
