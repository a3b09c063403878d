"""Writes an ImageFolder of ImageNet-sized JPEGs for bench/loader.sh: CLASSES folders of
PER_CLASS images, 500x375 (one in four 375x500), quality 90, with photo-like content (smooth
colour fields, edges and noise) so the JPEGs carry realistic amounts of detail.

  python3 bench/make_jpeg_folder.py ROOT CLASSES PER_CLASS
"""
import os
import sys

import numpy as np
from PIL import Image, ImageFilter

root, classes, per_class = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
for c in range(classes):
    folder = os.path.join(root, "n%08d" % c)
    os.makedirs(folder, exist_ok=True)
    for i in range(per_class):
        w, h = (375, 500) if i % 4 == 3 else (500, 375)
        coarse = rng.integers(0, 256, size=(h // 25, w // 25, 3), dtype=np.uint8)
        img = Image.fromarray(coarse).resize((w, h), Image.BICUBIC).filter(ImageFilter.EDGE_ENHANCE)
        pixels = np.asarray(img).astype(np.int16) + rng.integers(-12, 13, size=(h, w, 3))
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
            os.path.join(folder, "img_%05d.JPEG" % i), quality=90)
