#!/usr/bin/env python3
"""Make the reference person masks assets/testdata/{astronaut,camera}.mask.png.

They are independent of the segmentation model under test: OpenCV GrabCut (colour GMMs + graph cut),
seeded by a rectangle around the person and by definite-foreground / definite-background strokes and
polygons placed by hand after looking at each photo. They are all constants below, in pixel
coordinates of the 512x512 photos. Output: 8-bit grayscale PNG, 255 = person, 0 = background, at the
photo's full resolution.

What counts as the person (also in LICENSES.md):
  * the body with hair, skin, clothes and worn equipment (the astronaut's flight suit with its neck
    ring, patches, straps, connectors and glove; the cameraman's coat, shirt and gloves);
  * objects the person holds or carries against the body, in front of it: the camcorder (with its
    wrist strap) and the astronaut's helmet, held at her right side, where it hides her arm. A
    host holding a product up to the camera should stay visible when the background is replaced;
  * NOT: things standing on the ground or apart from the body. That is the whole tripod: its legs,
    column, mount plate and pan bar, also where the bar is in his hand and where the column passes
    in front of the sleeve. Also not: the flag, the shuttle model, the table, the sky, the grass and
    the buildings.

Pinned environment: same venv as assets/models/requirements.txt (opencv-python-headless==4.11.0.86,
numpy==1.26.4, pillow==13.0.0). Run:
    python assets/testdata/make_reference_masks.py [--overlay-dir /tmp/masks]
--overlay-dir also writes <name>.seeds.png (the seeds drawn on the photo) and <name>.overlay.png
(the mask outline and tint on the photo) for a visual check.
"""

import argparse
import os

import cv2
import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ITERATIONS = 10
MIN_COMPONENT = 100   # person components smaller than this (px) are dropped
MAX_HOLE = 40         # enclosed background holes smaller than this (px) are filled

# Each stroke: (thickness_px, [(x, y), ...]) polyline. Each polygon: [(x, y), ...] filled.
SEEDS = {
    "astronaut": {
        # x0, y0, x1, y1 (inclusive-exclusive); outside = definite background
        "rect": (10, 10, 512, 512),
        "fg_strokes": [
            (8, [(175, 70), (200, 35), (240, 25), (275, 40), (290, 80)]),          # hair
            (30, [(225, 85), (225, 150)]),                                          # face
            (12, [(200, 185), (230, 210), (265, 185)]),                             # black turtleneck
            (6, [(135, 225), (150, 180), (200, 160), (260, 160), (295, 190),       # neck ring
                 (298, 235), (265, 275), (190, 280), (140, 250), (135, 225)]),
            (26, [(70, 330), (150, 300), (250, 300), (330, 320)]),                  # suit chest
            (20, [(60, 420), (160, 420), (250, 420)]),                              # suit belly
            (16, [(45, 320), (38, 400), (40, 490)]),                                # left sleeve
            (14, [(90, 500), (200, 470), (260, 480), (272, 508)]),                  # suit bottom
            (6, [(120, 500), (160, 505)]),                                          # purple glove
            (6, [(250, 330), (258, 490)]),                                          # white strap
            (8, [(290, 350), (320, 350)]),                                          # name tag
            (5, [(495, 466), (500, 508)]),                                          # helmet side fitting
            (3, [(508, 484), (509, 508)]),                                          # helmet side fitting
            (8, [(335, 290), (348, 325)]),                                          # right shoulder
            (8, [(185, 255), (215, 258), (250, 263)]),                              # inner collar fabric
            (8, [(137, 190), (148, 165), (175, 155)]),                              # inside of the neck ring
            (4, [(124, 178), (119, 200), (121, 212)]),                              # ring rim and latch, left
            (6, [(152, 391), (168, 395), (185, 393)]),                              # shuttle on the patch
            (6, [(76, 243), (60, 262), (52, 285), (50, 302)]),                      # left shoulder edge
        ],
        "bg_strokes": [
            (14, [(10, 20), (50, 100), (75, 200), (40, 290)]),                      # flag
            (6, [(13, 330), (13, 511)]),                                            # flag, lower left
            (4, [(38, 245), (30, 275), (28, 300)]),                                 # flag by left shoulder
            (10, [(125, 20), (135, 100), (115, 175)]),                              # wall left of head
            (10, [(320, 20), (330, 110), (322, 160)]),                              # wall right of head
            (6, [(345, 175), (365, 235)]),                                          # wall by right shoulder
            (3, [(362, 290), (364, 346)]),                                          # wall strip right of the suit
            (4, [(508, 385), (509, 440)]),                                          # backdrop right of the helmet
        ],
        "bg_polygons": [
            # wall between the chin, the neck ring and the right shoulder
            [(262, 150), (330, 140), (330, 232), (310, 232), (300, 212), (291, 196), (280, 186),
             (266, 178), (261, 168)],
            # shuttle model, table and backdrop right of the person, above the helmet
            [(368, 0), (512, 0), (512, 372), (490, 370), (470, 352), (440, 338), (400, 334),
             (372, 336)],
        ],
        "fg_polygons": [
            # the helmet she holds (black visor), inset from its white rim
            [(296, 505), (300, 440), (320, 398), (360, 372), (420, 366), (460, 386), (478, 415),
             (484, 450), (472, 505)],
        ],
    },
    "camera": {
        "rect": (0, 58, 336, 512),
        "fg_strokes": [
            (10, [(175, 95), (210, 75), (250, 85), (262, 110)]),                    # hair
            (18, [(215, 120), (235, 160)]),                                         # face
            (5, [(178, 186), (183, 206)]),                                          # white shirt collar
            (20, [(40, 300), (100, 200), (160, 150)]),                              # back / shoulder
            (30, [(40, 330), (100, 300), (200, 265), (232, 255)]),                  # coat / sleeve
            (30, [(30, 380), (40, 500)]),                                           # coat lower left
            (8, [(136, 400), (138, 508)]),                                          # trouser leg
            (8, [(265, 150), (315, 150)]),                                          # camcorder
            (6, [(310, 175), (318, 205)]),                                          # right glove
            (10, [(200, 215), (240, 225)]),                                         # left glove
            (8, [(260, 280), (280, 300)]),                                          # sleeve by tripod
            (3, [(301, 248), (302, 276)]),                                          # sleeve right of the column
            (3, [(303, 185), (303, 228), (302, 244)]),                              # camcorder wrist strap
        ],
        "bg_strokes": [
            (10, [(10, 70), (60, 130), (20, 200)]),                                 # sky, upper left
            (8, [(100, 70), (150, 80)]),                                            # sky above head
            (8, [(285, 80), (300, 120), (290, 130)]),                               # sky right of head
            (6, [(293, 225), (293, 480)]),                                          # tripod column
            (5, [(250, 206), (283, 206)]),                                          # pan bar
            (10, [(115, 465), (115, 508)]),                                         # ground between coat and leg
            (12, [(200, 330), (190, 400), (200, 500)]),                             # grass
            (8, [(300, 250), (330, 240)]),                                          # grass right of sleeve
            (7, [(283, 335), (260, 420), (236, 505)]),                              # tripod, left leg
            (9, [(305, 325), (340, 391)]),                                          # tripod, right leg
            (4, [(285, 298), (283, 312), (270, 314)]),                              # grass under the sleeve
            (3, [(286, 291), (277, 300)]),                                          # grass under the sleeve
            (5, [(306, 316), (323, 304)]),                                          # tripod pan handle
        ],
        "bg_polygons": [
            # background seen between the two hands, below the tripod's pan bar
            [(244, 210), (260, 210), (260, 226), (250, 242), (245, 228)],
            # dark windows of the building at the left edge
            [(0, 219), (13, 219), (13, 234), (0, 237)],
        ],
        "fg_polygons": [],
    },
}


def load_rgb(path):
    im = Image.open(path)
    return np.asarray(im.convert("L").convert("RGB") if im.mode in ("L", "I;16", "I") else im.convert("RGB"))


def seed_mask(shape, seeds):
    h, w = shape
    mask = np.full((h, w), cv2.GC_BGD, np.uint8)
    x0, y0, x1, y1 = seeds["rect"]
    mask[y0:y1, x0:x1] = cv2.GC_PR_FGD
    # order: strokes, then polygons; foreground, then background (background wins where they cross)
    for t, pts in seeds["fg_strokes"]:
        cv2.polylines(mask, [np.array(pts, np.int32)], False, cv2.GC_FGD, t)
    for t, pts in seeds["bg_strokes"]:
        cv2.polylines(mask, [np.array(pts, np.int32)], False, cv2.GC_BGD, t)
    for poly in seeds["fg_polygons"]:
        cv2.fillPoly(mask, [np.array(poly, np.int32)], cv2.GC_FGD)
    for poly in seeds["bg_polygons"]:
        cv2.fillPoly(mask, [np.array(poly, np.int32)], cv2.GC_BGD)
    return mask


def clean(fg):
    """Drop small specks, fill small enclosed holes."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= MIN_COMPONENT
    fg = keep[labels]
    n, labels, stats, _ = cv2.connectedComponentsWithStats((~fg).astype(np.uint8), connectivity=4)
    h, w = fg.shape
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        touches_border = x == 0 or y == 0 or x + bw == w or y + bh == h
        if not touches_border and area < MAX_HOLE:
            fg[labels == i] = True
    return fg


def segment(rgb, seeds):
    cv2.setRNGSeed(0)
    mask = seed_mask(rgb.shape[:2], seeds)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    cv2.grabCut(bgr, mask, None, bgd, fgd, ITERATIONS, cv2.GC_INIT_WITH_MASK)
    fg = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    return clean(fg)


def draw_seeds(rgb, seeds):
    out = np.ascontiguousarray(rgb[:, :, ::-1]).copy()
    x0, y0, x1, y1 = seeds["rect"]
    cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), (255, 255, 0), 1)
    for poly in seeds["bg_polygons"]:
        cv2.polylines(out, [np.array(poly, np.int32)], True, (0, 0, 255), 2)
    for poly in seeds["fg_polygons"]:
        cv2.polylines(out, [np.array(poly, np.int32)], True, (0, 255, 0), 2)
    for t, pts in seeds["fg_strokes"]:
        cv2.polylines(out, [np.array(pts, np.int32)], False, (0, 255, 0), t)
    for t, pts in seeds["bg_strokes"]:
        cv2.polylines(out, [np.array(pts, np.int32)], False, (0, 0, 255), t)
    return out


def draw_overlay(rgb, fg):
    out = np.ascontiguousarray(rgb[:, :, ::-1]).astype(np.float32)
    tint = np.zeros_like(out)
    tint[fg] = (0, 255, 0)
    tint[~fg] = (255, 0, 255)
    out = (0.7 * out + 0.3 * tint).astype(np.uint8)
    contours, _ = cv2.findContours(fg.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, (0, 255, 255), 1)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--overlay-dir")
    args = ap.parse_args()
    for name, seeds in SEEDS.items():
        rgb = load_rgb(os.path.join(HERE, name + ".png"))
        fg = segment(rgb, seeds)
        out = os.path.join(HERE, name + ".mask.png")
        Image.fromarray(np.where(fg, 255, 0).astype(np.uint8), mode="L").save(out, optimize=True)
        print(f"{out}: {fg.shape[1]}x{fg.shape[0]}, person {fg.mean():.3f} of pixels")
        if args.overlay_dir:
            os.makedirs(args.overlay_dir, exist_ok=True)
            cv2.imwrite(os.path.join(args.overlay_dir, name + ".seeds.png"), draw_seeds(rgb, seeds))
            cv2.imwrite(os.path.join(args.overlay_dir, name + ".overlay.png"), draw_overlay(rgb, fg))


if __name__ == "__main__":
    main()
