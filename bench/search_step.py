#!/usr/bin/env python3
"""Python PyTorch baseline for the dnas search step: FBNet supernet training steps in eager mode.

Builds the same stochastic supernet as the C++ engine (supernet/supernet.cpp, ops/blocks.cpp,
ops/block_plan.cpp) from a dnas-space/1 YAML file, written the way public FBNet
reimplementations write it, and times its training steps on synthetic data:

  blocks   ir_k{3,5}_e{1,3,6}[_g2]: [1x1 (groups g) -> BN -> act -> channel shuffle (g > 1)] ->
           kxk depthwise (stride s) -> BN -> act -> 1x1 (groups g) -> BN; residual add when s = 1
           and Cin = Cout; e = 1 keeps its first 1x1 unless `ir_e1_pw: false`.
           skip: identity, or 1x1 conv (stride s) + BN + act where the shape changes.
           shift_k*_e* and fire_sr* as in ops/blocks.cpp; stem/head conv_k*, maxpool_k3, avgpool,
           fc, dropout with the layer options act/bn/bias/padding/ceil_mode/p.
  MixedOp  soft: weights = gumbel_softmax(theta, tau), every candidate runs, sum_i w_i * op_i(x).
           hard: straight-through one-hot sample; only the sampled candidate runs, scaled by its
           (unit) weight so theta still gets a gradient. One noise draw per batch, tau = 5.
  w step   (search/search_loop.cpp) sample without grad, loss = CE * alpha * (log LAT)^beta with LAT
           the (detached) expected latency, backward, SGD(momentum 0.9, wd 1e-4) on the weights.
  theta    sample with grad, same loss with LAT = sum_l sum_i w_li * LUT_li + fixed (a random
  step     per-candidate table in us), backward, Adam(lr 0.01, wd 5e-4) on theta. As in the C++
           trainer the weights are frozen (requires_grad False) during theta steps, so backward
           computes no weight gradients; --full-backward computes them anyway, as most public
           reimplementations do.

Inputs and labels are pre-generated (one w batch, one theta batch) so data generation is not timed.
Run with the interpreter that has torch (Debian's python3-torch is /usr/bin/python3).
"""
import argparse
import json
import math
import re
import resource
import sys
import time
from pathlib import Path

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.exit("search_step.py: torch is not importable by %s (Debian: apt-get install python3-torch, "
             "then run /usr/bin/python3 bench/search_step.py)" % sys.executable)

REPO = Path(__file__).resolve().parent.parent
ALPHA, BETA, TAU = 0.2, 0.6, 5.0


# ---------------------------------------------------------------- space file
def _scalar(text):
    text = text.strip().strip("'\"")
    if text in ("true", "false"):
        return text == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _flow(text):
    """Parses a YAML flow value ([a, b], {k: v}, nested) or a plain scalar."""
    if not text.startswith(("[", "{")):
        return _scalar(text)
    tokens = [t.strip() for t in re.findall(r"[\[\]{},:]|[^\[\]{},:]+", text) if t.strip()]
    pos = 0

    def value():
        nonlocal pos
        tok, pos = tokens[pos], pos + 1
        if tok not in ("[", "{"):
            return _scalar(tok)
        out, close = ([], "]") if tok == "[" else ({}, "}")
        while tokens[pos] != close:
            if close == "]":
                out.append(value())
            else:
                key, pos = tokens[pos], pos + 2  # key ':'
                out[key] = value()
            if tokens[pos] == ",":
                pos += 1
        pos += 1
        return out

    return value()


def parse_space_text(text):
    """The YAML subset the space files use: top-level `key: value`, flow values, `- {...}` lists."""
    try:
        import yaml
        return yaml.safe_load(text)
    except ImportError:
        pass
    doc, key, pending = {}, None, ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        pending = pending + " " + line.strip() if pending else line
        if pending.count("[") + pending.count("{") > pending.count("]") + pending.count("}"):
            continue  # a flow value continues on the next line
        stmt, pending = pending.strip(), ""
        if stmt.startswith("- "):
            doc[key].append(_flow(stmt[2:].strip()))
        else:
            key, _, value = stmt.partition(":")
            key, value = key.strip(), value.strip()
            doc[key] = _flow(value) if value else []
    return doc


def load_space(name):
    path = Path(name) if name.endswith((".yaml", ".yml")) else REPO / "configs" / "spaces" / (name + ".yaml")
    if not path.is_file():
        sys.exit("search_step.py: no space file %s" % path)
    return parse_space_text(path.read_text())


# ---------------------------------------------------------------- blocks
DEFAULT_OPTIONS = {"act": "relu", "bn": True, "bias": None, "padding": None, "ceil_mode": False,
                   "p": 0.5, "ir_e1_pw": True}


def conv_bn_act(cin, cout, k, stride=1, groups=1, act="relu", bn=True, bias=None, padding=None):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2 if padding is None else padding, groups=groups,
                        bias=(not bn) if bias is None else bias)]
    if bn:
        layers.append(nn.BatchNorm2d(cout))
    if act == "relu":
        layers.append(nn.ReLU(inplace=True))
    elif act == "relu6":
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class ChannelShuffle(nn.Module):
    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, kernel, expansion, groups, stride, act, e1_pw):
        super().__init__()
        mid = cin * expansion
        layers = []
        if expansion != 1 or e1_pw:
            layers.append(conv_bn_act(cin, mid, 1, groups=groups, act=act))
            if groups > 1:
                layers.append(ChannelShuffle(groups))
        layers.append(conv_bn_act(mid, mid, kernel, stride, groups=mid, act=act))
        layers.append(conv_bn_act(mid, cout, 1, groups=groups, act="none"))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return y + x if self.residual else y


class Shift(nn.Module):
    """ShiftNet shift: channels split over the k x k directions, zero padding, then stride."""
    def __init__(self, channels, kernel, stride):
        super().__init__()
        d = kernel * kernel
        self.kernel, self.stride = kernel, stride
        self.sizes = [channels // d + (1 if i < channels % d else 0) for i in range(d)]

    def forward(self, x):
        k, s, pad = self.kernel, self.stride, self.kernel // 2
        oh, ow = (x.shape[2] - 1) // s + 1, (x.shape[3] - 1) // s + 1
        padded, moved, first = F.pad(x, (pad, pad, pad, pad)), [], 0
        for d, count in enumerate(self.sizes):
            if count:
                dy, dx = divmod(d, k)
                moved.append(padded[:, first:first + count, dy:dy + (oh - 1) * s + 1:s, dx:dx + (ow - 1) * s + 1:s])
                first += count
        return torch.cat(moved, 1)


class ShiftBlock(nn.Module):
    def __init__(self, cin, cout, kernel, expansion, stride, act):
        super().__init__()
        mid = cin * expansion
        self.body = nn.Sequential(conv_bn_act(cin, mid, 1, act=act), Shift(mid, kernel, stride),
                                  conv_bn_act(mid, cout, 1, act="none"))
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return y + x if self.residual else y


class Fire(nn.Module):
    def __init__(self, cin, cout, squeeze_ratio, stride):
        super().__init__()
        squeeze = max(1, int(math.floor(cout * squeeze_ratio + 0.5)))
        self.squeeze = conv_bn_act(cin, squeeze, 1, bn=False)
        self.expand1x1 = conv_bn_act(squeeze, cout - cout // 2, 1, stride, bn=False)
        self.expand3x3 = conv_bn_act(squeeze, cout // 2, 3, stride, bn=False)

    def forward(self, x):
        s = self.squeeze(x)
        return torch.cat([self.expand1x1(s), self.expand3x3(s)], 1)


def make_block(key, cin, cout, stride, opt):
    """The module for one canonical op key; returns (module, output channels)."""
    m = re.fullmatch(r"ir_k(\d+)_e(\d+)(?:_g(\d+))?", key)
    if m:
        k, e, g = int(m[1]), int(m[2]), int(m[3] or 1)
        return InvertedResidual(cin, cout, k, e, g, stride, opt["act"], opt["ir_e1_pw"]), cout
    if key == "skip":
        same = stride == 1 and cin == cout
        return (nn.Identity() if same else conv_bn_act(cin, cout, 1, stride, act=opt["act"])), cout
    if m := re.fullmatch(r"shift_k(\d+)_e(\d+)", key):
        return ShiftBlock(cin, cout, int(m[1]), int(m[2]), stride, opt["act"]), cout
    if m := re.fullmatch(r"fire_sr([\d.]+)", key):
        return Fire(cin, cout, float(m[1]), stride), cout
    if m := re.fullmatch(r"conv_k(\d+)", key):
        return conv_bn_act(cin, cout, int(m[1]), stride, act=opt["act"], bn=opt["bn"], bias=opt["bias"],
                           padding=opt["padding"]), cout
    if key == "maxpool_k3":
        return nn.MaxPool2d(3, stride, opt["padding"] or 0, ceil_mode=opt["ceil_mode"]), cin
    if key == "avgpool":
        return nn.AdaptiveAvgPool2d(1), cin
    if key == "fc":
        return nn.Sequential(nn.Flatten(1), nn.Linear(cin, cout)), cout
    if key == "dropout":
        return nn.Dropout(opt["p"]), cin
    sys.exit("search_step.py: unknown op key '%s'" % key)


# ---------------------------------------------------------------- supernet
class MixedOp(nn.Module):
    def __init__(self, candidates):
        super().__init__()
        self.ops = nn.ModuleList(candidates)
        self.theta = nn.Parameter(torch.zeros(len(candidates)))

    def forward(self, x, weights, index=None):
        if index is not None:  # hard: only the sampled path runs
            return self.ops[index](x) * weights[index]
        out = None
        for w, op in zip(weights, self.ops):
            term = op(x) * w
            out = term if out is None else out + term
        return out


class Supernet(nn.Module):
    def __init__(self, space):
        super().__init__()
        defaults = dict(DEFAULT_OPTIONS, **(space.get("defaults") or {}))
        classes, channels = space["num_classes"], space["input_channels"]

        def fixed(specs):
            nonlocal channels
            blocks = []
            for spec in specs:
                spec = dict(spec)
                op, out, stride = spec.pop("op"), spec.pop("out", None), spec.pop("stride", 1)
                out = classes if out in (None, "num_classes") else out
                block, channels = make_block(op, channels, out, stride, dict(defaults, **spec))
                blocks.append(block)
            return nn.Sequential(*blocks)

        self.stem = fixed(space.get("stem") or [])
        self.layers, self.keys = nn.ModuleList(), []
        for stage in space["stages"]:
            keys = stage.get("candidates") or space["candidates"]
            for r in range(stage["repeats"]):
                stride = stage["stride"] if r == 0 else 1
                self.layers.append(MixedOp([make_block(k, channels, stage["out"], stride, defaults)[0] for k in keys]))
                self.keys.append(keys)
                channels = stage["out"]
        self.head = fixed(space["head"])
        for m in self.modules():  # init_weights(kKaimingFanOut) in supernet/network.cpp
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def thetas(self):
        return [layer.theta for layer in self.layers]

    def weights(self):
        return [p for name, p in self.named_parameters() if not name.endswith(".theta")]

    def sample(self, tau, hard):
        """One Gumbel-softmax draw per layer: (weights [K], index or None)."""
        out = []
        for theta in self.thetas():
            w = F.gumbel_softmax(theta, tau=tau, hard=hard)
            out.append((w, int(w.argmax()) if hard else None))
        return out

    def forward(self, x, sample):
        x = self.stem(x)
        for layer, (w, index) in zip(self.layers, sample):
            x = layer(x, w, index)
        return self.head(x).flatten(1)


def expected_latency_us(sample, lut, fixed_us):
    return sum((w * lat).sum() for (w, _), lat in zip(sample, lut)) + fixed_us


def latency_aware_loss(ce, lat_us):
    """search/search_loop.cpp: CE * alpha * (log LAT)^beta (the power applies to the log)."""
    return ce * ALPHA * lat_us.clamp_min(1.0 + 1e-6).log().pow(BETA)


# ---------------------------------------------------------------- benchmark
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="example: bench/search_step.py --space small --input 28 --channels 1 "
                                        "--batch 32 --mode soft --steps 3")
    ap.add_argument("--space", default="small", help="fbnet | small | mixed | PATH.yaml (default: small)")
    ap.add_argument("--batch", type=int, default=32, help="images per step (default: 32)")
    ap.add_argument("--input", type=int, help="input height and width (default: the space's input_size)")
    ap.add_argument("--channels", type=int, help="input channels (default: the space's input_channels)")
    ap.add_argument("--classes", type=int, help="classes (default: the space's num_classes)")
    ap.add_argument("--mode", choices=["soft", "hard"], default="soft",
                    help="soft: every candidate runs (FBNet); hard: straight-through one-hot (default: soft)")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps of each kind (default: 10)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed w+theta steps first (default: 2)")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="default: cpu")
    ap.add_argument("--seed", type=int, default=0, help="default: 0")
    ap.add_argument("--full-backward", action="store_true",
                    help="theta steps also compute weight gradients (public reimplementations do)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("search_step.py: --device cuda, but torch.cuda.is_available() is False")
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    space = load_space(args.space)
    for key, value in (("input_size", args.input), ("input_channels", args.channels), ("num_classes", args.classes)):
        if value is not None:
            space[key] = value
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    net = Supernet(space).to(device).train()
    weights, thetas = net.weights(), net.thetas()
    params = sum(p.numel() for p in net.parameters())
    theta_params = sum(t.numel() for t in thetas)
    # A random latency table (us) per candidate, and the fixed stem + head latency.
    lut = [(torch.rand(len(k)) * 900 + 100).to(device) for k in net.keys]
    fixed_us = 500.0
    shape = (args.batch, space["input_channels"], space["input_size"], space["input_size"])
    data = {phase: (torch.randn(shape).to(device), torch.randint(space["num_classes"], (args.batch,)).to(device))
            for phase in ("w", "theta")}
    w_opt = torch.optim.SGD(weights, lr=0.1, momentum=0.9, weight_decay=1e-4)
    theta_opt = torch.optim.Adam(thetas, lr=0.01, weight_decay=5e-4)
    hard = args.mode == "hard"

    def w_step():
        for p in weights:
            p.requires_grad_(True)
        images, labels = data["w"]
        with torch.no_grad():  # theta is fixed while w trains
            sample = net.sample(TAU, hard)
        logits = net(images, sample)
        lat = expected_latency_us(sample, lut, fixed_us).detach()
        loss = latency_aware_loss(F.cross_entropy(logits, labels), lat)
        w_opt.zero_grad(set_to_none=True)
        loss.backward()
        w_opt.step()
        return loss.item(), logits.argmax(1).eq(labels).sum().item()

    def theta_step():
        for p in weights:
            p.requires_grad_(args.full_backward)
        images, labels = data["theta"]
        sample = net.sample(TAU, hard)
        logits = net(images, sample)
        lat = expected_latency_us(sample, lut, fixed_us)
        loss = latency_aware_loss(F.cross_entropy(logits, labels), lat)
        theta_opt.zero_grad(set_to_none=True)
        loss.backward()
        theta_opt.step()
        return loss.item(), lat.item(), logits.argmax(1).eq(labels).sum().item()

    def timed(step):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    for _ in range(args.warmup):
        w_step()
        theta_step()
    w_s, theta_s = timed(w_step), timed(theta_step)

    images = args.batch * args.steps
    result = {
        "space": args.space, "batch": args.batch, "input": space["input_size"],
        "channels": space["input_channels"], "classes": space["num_classes"], "mode": args.mode,
        "device": args.device, "threads": torch.get_num_threads(), "steps": args.steps, "warmup": args.warmup,
        "full_backward": args.full_backward, "torch": torch.__version__, "layers": len(net.layers),
        "params": params, "theta_params": theta_params,
        "w_images_per_s": images / w_s, "theta_images_per_s": images / theta_s,
        "ms_per_w_step": 1000 * w_s / args.steps, "ms_per_theta_step": 1000 * theta_s / args.steps,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    if device.type == "cuda":
        result["peak_cuda_bytes"] = torch.cuda.max_memory_allocated()
    if args.json:
        print(json.dumps(result))
        return
    print("space %s, %d searchable layers, input %dx%dx%d, %d classes; mode %s, batch %d, %s, %d threads, torch %s"
          % (args.space, result["layers"], result["channels"], result["input"], result["input"], result["classes"],
             args.mode, args.batch, args.device, result["threads"], torch.__version__))
    print("supernet params %s (theta %d)" % (format(params, ","), theta_params))
    print("w step      %9.2f ms  %9.1f images/s" % (result["ms_per_w_step"], result["w_images_per_s"]))
    print("theta step  %9.2f ms  %9.1f images/s" % (result["ms_per_theta_step"], result["theta_images_per_s"]))
    print("peak RSS    %9.1f MiB" % (result["peak_rss_bytes"] / 2**20)
          + ("   peak CUDA %.1f MiB" % (result["peak_cuda_bytes"] / 2**20) if "peak_cuda_bytes" in result else ""))
    print("(%d warm-up + %d timed steps of each kind)" % (args.warmup, args.steps))


if __name__ == "__main__":
    main()
