"""The baseline of bench/loader.sh: torchvision's ImageFolder + PIL DataLoader with the transforms
dnas applies (training: RandomResizedCrop + RandomHorizontalFlip; evaluation: Resize + CenterCrop;
then ToTensor + Normalize), the same worker count and batch size. Prints one JSON line shaped
like `dnas bench loader --json`.

  python3 bench/loader_torchvision.py ROOT SIZE BATCH WORKERS BATCHES train|eval
"""
import json
import resource
import sys
import time

import torch
from torchvision import datasets, transforms

root, size, batch, workers, batches, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), \
    int(sys.argv[5]), sys.argv[6]
torch.set_num_threads(1)
normalize = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
if mode == "train":
    t = [transforms.RandomResizedCrop(size), transforms.RandomHorizontalFlip()]
else:
    t = [transforms.Resize(int(round(size * 256 / 224))), transforms.CenterCrop(size)]
dataset = datasets.ImageFolder(root, transforms.Compose(t + [transforms.ToTensor(), normalize]))
loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers, drop_last=True,
                                     generator=torch.Generator().manual_seed(0))
it = iter(loader)
start = time.perf_counter()
next(it)  # the first batch starts the workers
first = time.perf_counter() - start
start = time.perf_counter()
timed = 0
for _ in range(min(batches, len(loader)) - 1):
    next(it)
    timed += 1
seconds = time.perf_counter() - start
per_s = timed * batch / seconds
main_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # the largest finished worker
del it, loader
child_rss = max(child_rss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
print(json.dumps({"images_per_s": per_s, "images_per_s_per_thread": per_s / max(1, workers), "threads": workers,
                  "batches_timed": timed, "first_batch_seconds": first,
                  "peak_rss_bytes": main_rss + workers * child_rss, "main_rss_bytes": main_rss,
                  "worker_rss_bytes": child_rss}))
