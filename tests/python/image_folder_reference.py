"""Reference data for tests/test_image_stream.cpp, from torchvision 0.14 and PIL (the real thing).

  make ROOT         writes an ImageFolder tree of awkward images under ROOT
  eval ROOT S R OUT writes, for every image of ROOT (ImageFolder order), torchvision's
                    Resize(round(S * R)) + CenterCrop(S) as raw uint8 CHW bytes to OUT
  crops ROOT S BOXES OUT  reads "index top left height width flip" lines from BOXES and writes
                    PIL crop + resize((S, S), BILINEAR) (+ hflip) as raw uint8 CHW bytes to OUT
"""
import sys

import numpy as np
from PIL import Image
from torchvision import datasets, transforms
import torchvision.transforms.functional as F


def make(root):
    import os
    rng = np.random.default_rng(7)

    def smooth(w, h, channels=3):
        # Low-frequency content plus noise: resizing has something to get wrong.
        coarse = rng.integers(0, 256, size=(max(2, h // 16), max(2, w // 16), channels)).astype(np.uint8)
        big = Image.fromarray(coarse.squeeze() if channels == 1 else coarse).resize((w, h), Image.BICUBIC)
        arr = np.asarray(big).astype(np.int16) + rng.integers(-20, 21, size=np.asarray(big).shape)
        return np.clip(arr, 0, 255).astype(np.uint8)

    for c in ["cat", "dog", "emu"]:
        os.makedirs(f"{root}/{c}/nested", exist_ok=True)
    Image.fromarray(smooth(500, 375)).save(f"{root}/cat/a.JPEG", quality=90)
    Image.fromarray(smooth(375, 500)).save(f"{root}/cat/b.jpg", quality=90, subsampling=0)
    Image.fromarray(smooth(97, 61)).save(f"{root}/cat/nested/c.jpeg", quality=75, progressive=True)
    Image.fromarray(smooth(300, 200, 1)).save(f"{root}/dog/gray.JPEG", quality=90)
    Image.fromarray(smooth(320, 240)).convert("CMYK").save(f"{root}/dog/cmyk.JPEG", quality=90)
    Image.fromarray(smooth(256, 300)).save(f"{root}/dog/png_named.JPEG", format="PNG")
    Image.fromarray(smooth(40, 30)).save(f"{root}/emu/small.png")
    Image.fromarray(smooth(640, 480)).save(f"{root}/emu/large.jpg", quality=95)
    Image.fromarray(np.dstack([smooth(120, 90), rng.integers(0, 256, (90, 120, 1), dtype=np.uint8)])).save(
        f"{root}/emu/rgba.png")
    open(f"{root}/emu/.DS_Store", "wb").write(b"\0" * 10)  # hidden: ignored


def chw(img):
    return np.asarray(img.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1).tobytes()


def evaluate(root, size, ratio, out):
    short = int(round(size * ratio))
    t = transforms.Compose([transforms.Resize(short), transforms.CenterCrop(size)])
    ds = datasets.ImageFolder(root)
    with open(out, "wb") as f:
        for path, _ in ds.samples:
            f.write(chw(t(ds.loader(path))))
    with open(out + ".paths", "w") as f:
        f.write("\n".join(p for p, _ in ds.samples) + "\n")


def crops(root, size, boxes, out):
    ds = datasets.ImageFolder(root)
    with open(out, "wb") as f:
        for line in open(boxes):
            index, top, left, height, width, flip = map(int, line.split())
            img = F.resized_crop(ds.loader(ds.samples[index][0]), top, left, height, width, [size, size],
                                 transforms.InterpolationMode.BILINEAR)
            f.write(chw(F.hflip(img) if flip else img))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "make":
        make(sys.argv[2])
    elif command == "eval":
        evaluate(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
    elif command == "crops":
        crops(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
