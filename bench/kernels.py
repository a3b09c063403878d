#!/usr/bin/env python3
"""Kernel micro-benchmarks behind two choices in dnas' search loop, in Python PyTorch (Debian's
python3-torch runs the same ATen/oneDNN kernels as the LibTorch dnas links):

  1. channels-last: a depthwise convolution (96 channels, 28x28, batch 32) forward and
     forward+backward, NCHW against NHWC, kernel 3 and 5;
  2. shared work in soft mode: the six expansion 1x1 convs (+ BN + ReLU) that FBNet candidates
     apply to the same input, run separately against one wide convolution split afterwards.

Run: /usr/bin/python3 bench/kernels.py [--threads T]
"""
import argparse
import os
import time

import torch


def bench(f, repeats=20):
    for _ in range(3):
        f()
    start = time.perf_counter()
    for _ in range(repeats):
        f()
    return (time.perf_counter() - start) / repeats * 1000


def layouts():
    return (("nchw", torch.contiguous_format), ("nhwc", torch.channels_last))


def depthwise():
    for k in (3, 5):
        for name, fmt in layouts():
            x = torch.randn(32, 96, 28, 28).to(memory_format=fmt).requires_grad_()
            conv = torch.nn.Conv2d(96, 96, k, 1, k // 2, groups=96, bias=False).to(memory_format=fmt)

            def forward():
                with torch.no_grad():
                    conv(x)

            def forward_backward():
                conv(x).sum().backward()

            print("depthwise k%d %s   forward %7.2f ms   forward+backward %7.2f ms"
                  % (k, name, bench(forward), bench(forward_backward)))


def shared_pointwise():
    c, expansions = 16, (1, 3, 6, 1, 3, 6)
    for name, fmt in layouts():
        x = torch.randn(32, c, 28, 28).to(memory_format=fmt).requires_grad_()
        convs = [torch.nn.Conv2d(c, c * e, 1, bias=False).to(memory_format=fmt) for e in expansions]
        norms = [torch.nn.BatchNorm2d(c * e) for e in expansions]
        wide = torch.nn.Conv2d(c, c * sum(expansions), 1, bias=False).to(memory_format=fmt)
        wide_norm = torch.nn.BatchNorm2d(c * sum(expansions))

        def separate():
            sum(torch.relu(n(conv(x))).sum() for conv, n in zip(convs, norms)).backward()

        def shared():
            parts = torch.relu(wide_norm(wide(x))).split([c * e for e in expansions], 1)
            sum(p.sum() for p in parts).backward()

        print("six 1x1+BN+ReLU %s   separate %7.2f ms   one wide conv, split %7.2f ms"
              % (name, bench(separate), bench(shared)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: all cores)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    print("# torch %s, %d threads" % (torch.__version__, torch.get_num_threads()))
    depthwise()
    shared_pointwise()


if __name__ == "__main__":
    main()
