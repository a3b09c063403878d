#!/usr/bin/env python3
"""How well does a search's selection score predict retrained accuracy? (bench/README.md, "Selection
proxy".)

Both the dnas search and random search choose their result among candidates (the argmax and
samples of theta, or K random archs within the target) by one score: the candidate's accuracy
through the supernet on the theta split after its BatchNorm statistics are recalibrated. Neither
can beat the other by more than that score lets it. This retrains every candidate of the given
search runs (their candidates.json) with one recipe and reports, per run:
  - Kendall's tau-b between the supernet score and the retrained test accuracy (over the
    candidates within the target), beside tau between the table latency and the retrained
    accuracy: the ranking a latency-only proxy gets for free;
  - the selected candidate's retrained accuracy against the best, the median and the worst
    candidate's (how much the selection gained over picking one of the candidates at random).
Writes proxy_rank.json and proxy_rank.md into --out; retrains are keyed by architecture, so a
rerun into the same --out keeps what finished.

Usage: python3 bench/proxy_rank.py --dnas build/cli/dnas --out DIR RUN_DIR [RUN_DIR ...]
"""
import argparse
import concurrent.futures
import hashlib
import itertools
import json
import os
import statistics

from bench_runs import retrain


def kendall_tau_b(a, b):
    concordant = discordant = ties_a = ties_b = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        da, db = a[i] - a[j], b[i] - b[j]
        if da == 0 and db == 0:
            continue
        if da == 0:
            ties_a += 1
        elif db == 0:
            ties_b += 1
        elif da * db > 0:
            concordant += 1
        else:
            discordant += 1
    denominator = ((concordant + discordant + ties_a) * (concordant + discordant + ties_b)) ** 0.5
    return (concordant - discordant) / denominator if denominator else float("nan")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="search run folders (each with arch.json and candidates.json)")
    p.add_argument("--dnas", default="build/cli/dnas")
    p.add_argument("--out", default="runs/proxy_rank")
    p.add_argument("--data", default="fashion-mnist")
    p.add_argument("--train-samples", type=int, default=20000)
    p.add_argument("--train-epochs", type=int, default=5)
    p.add_argument("--train-seeds", type=int, default=1)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where the retrains run")
    a = p.parse_args()
    for name in ("train_samples", "train_epochs", "train_seeds"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')}: expected >= 1, got {getattr(a, name)}")
    for folder in a.runs:
        for f in ("arch.json", "candidates.json"):
            if not os.path.isfile(os.path.join(folder, f)):
                p.error(f"{folder}: no {f} (expected a finished `dnas search` run folder)")
    dnas, out = os.path.abspath(a.dnas), os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    seeds = list(range(a.train_seeds))

    # Every candidate as an arch file: the run's derived arch with the candidate's op per layer.
    runs = []
    for folder in a.runs:
        with open(os.path.join(folder, "arch.json")) as f:
            derived = json.load(f)
        with open(os.path.join(folder, "candidates.json")) as f:
            candidates = json.load(f)["candidates"]
        for c in candidates:
            arch = json.loads(json.dumps(derived))
            for layer, op in zip(arch["layers"], c["choices"]):
                layer["op"] = op
            arch.pop("origin", None)
            key = hashlib.sha1(json.dumps(arch, sort_keys=True).encode()).hexdigest()[:12]
            c["arch"] = os.path.join(out, f"arch_{key}.json")
            with open(c["arch"], "w") as f:
                json.dump(arch, f, indent=1)
        runs.append({"run": os.path.abspath(folder), "candidates": candidates})

    def retrain_once(arch, seed):
        return retrain(dnas, arch, arch[:-len(".json")] + f"_seed{seed}", a.data, a.train_samples, a.train_epochs, seed,
                       a.device)

    jobs = sorted({(c["arch"], s) for r in runs for c in r["candidates"] for s in seeds})
    print(f"==> retraining {len(jobs)} candidate archs x seeds ({a.train_epochs} epochs on {a.train_samples} images)",
          flush=True)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        scores = dict(zip(jobs, pool.map(lambda j: retrain_once(*j), jobs)))

    rows = [f"Retrained {a.train_epochs} epochs on {a.train_samples} images, seeds {seeds} (mean), "
            "tested on the 10,000 test images; candidates within the target only.", "",
            "| run | candidates | tau(supernet score, retrained) | tau(table latency, retrained) | selected | best | "
            "median | worst |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        within = [c for c in r["candidates"] if c.get("within_target", True)]
        for c in r["candidates"]:
            c["test_top1"] = statistics.mean(scores[(c["arch"], s)] for s in seeds)
        retrained = [c["test_top1"] for c in within]
        r["tau_supernet"] = kendall_tau_b([c["accuracy_theta_split"] for c in within], retrained)
        r["tau_latency"] = kendall_tau_b([c["predicted_latency_ms"] for c in within], retrained)
        selected = next(c for c in r["candidates"] if c.get("selected"))
        r.update({"selected": selected["test_top1"], "best": max(retrained), "median": statistics.median(retrained),
                  "worst": min(retrained), "within_target": len(within)})
        rows.append(f"| {os.path.basename(r['run'])} | {len(within)} | {r['tau_supernet']:+.2f} | "
                    f"{r['tau_latency']:+.2f} | {100 * r['selected']:.2f}% | {100 * r['best']:.2f}% | "
                    f"{100 * r['median']:.2f}% | {100 * r['worst']:.2f}% |")
    with open(os.path.join(out, "proxy_rank.json"), "w") as f:
        json.dump({"recipe": {"samples": a.train_samples, "epochs": a.train_epochs, "seeds": seeds}, "runs": runs},
                  f, indent=2)
    with open(os.path.join(out, "proxy_rank.md"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
