#!/usr/bin/env python3
"""Would dnas pick better by theta's likelihood than by its supernet score? (bench/README.md, "What
decides the pairs".)

For every dnas search of the given bench/search_quality.py output folders, the candidate within
the target that theta's last probabilities (theta.jsonl) make most likely is retrained with the
benchmark's recipe and set against the pick the search made (by supernet score) and random
search's pick, on the same retrain seeds and recipe (both read from the run's results.json). No
search runs again. Prints one line per pair and the counts.

Usage: python3 bench/likelihood_pick.py --dnas build/cli/dnas --out DIR RUN [RUN ...] [--train-seeds 1]
"""
import argparse
import concurrent.futures
import glob
import json
import math
import os
import statistics

from bench_runs import dnas_search_key, read_results, retrain, retrained_scores


def log_likelihood(choices, theta):
    return sum(math.log(theta["probabilities"][l][theta["candidates"][l].index(op)]) for l, op in enumerate(choices))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="bench/search_quality.py output folders")
    p.add_argument("--dnas", default="build/cli/dnas")
    p.add_argument("--out", default="runs/likelihood_pick")
    p.add_argument("--train-seeds", type=int, default=1, help="retrain seeds 0 .. N-1 (the run's retrains must have them)")
    a = p.parse_args()
    if a.train_seeds < 1:
        p.error(f"--train-seeds: expected >= 1, got {a.train_seeds}")
    every_results = [(run, read_results(run, p)) for run in a.runs]  # every folder checked before any work
    dnas, out = os.path.abspath(a.dnas), os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    seeds = list(range(a.train_seeds))

    pairs = []
    for run, results in every_results:
        recipe = results["train_recipe"]
        if recipe["seeds"][:len(seeds)] != seeds:
            p.error(f"{run}: retrained with seeds {recipe['seeds']}, not {seeds}")
        # Each contestant's retrained accuracy per seed, as search_quality.py recorded it.
        scored = retrained_scores(results)
        for folder in sorted(glob.glob(os.path.join(run, "dnas_T*_s*"))):
            if not os.path.isdir(folder):
                continue
            name = os.path.basename(folder)
            target, seed = dnas_search_key(folder)
            with open(os.path.join(folder, "theta.jsonl")) as f:
                theta = json.loads([line for line in f if line.strip()][-1])
            with open(os.path.join(folder, "candidates.json")) as f:
                candidates = json.load(f)["candidates"]
            liked = max((c for c in candidates if c["within_target"]), key=lambda c: log_likelihood(c["choices"], theta))
            with open(os.path.join(folder, "arch.json")) as f:
                arch = json.load(f)
            for layer, op in zip(arch["layers"], liked["choices"]):
                layer["op"] = op
            path = os.path.join(out, f"{os.path.basename(os.path.abspath(run))}_{name}_likeliest.json")
            with open(path, "w") as f:
                json.dump(arch, f, indent=1)
            pairs.append({"run": run, "name": name, "liked": liked, "arch": path, "recipe": recipe,
                          "picked": scored[("dnas", target, seed)],
                          "random": scored[("random", target, seed)]})

    def retrain_liked(pair, seed):
        if pair["liked"]["selected"]:
            return pair["picked"][seed]
        return retrain(dnas, pair["arch"], pair["arch"][:-len(".json")] + f"_seed{seed}", "fashion-mnist",
                       pair["recipe"]["samples"], pair["recipe"]["epochs"], seed)

    jobs = [(i, s) for i in range(len(pairs)) for s in seeds]
    print(f"==> {sum(not p['liked']['selected'] for p in pairs)} of {len(pairs)} likeliest candidates differ from the "
          f"pick; retraining them with seeds {seeds}", flush=True)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        scores = dict(zip(jobs, pool.map(lambda j: retrain_liked(pairs[j[0]], j[1]), jobs)))

    wins = {"liked": 0, "picked": 0}
    margins = {"liked": [], "picked": []}
    for i, pair in enumerate(pairs):
        liked = statistics.mean(scores[(i, s)] for s in seeds)
        picked = statistics.mean(pair["picked"][s] for s in seeds)
        rand = statistics.mean(pair["random"][s] for s in seeds)
        for key, value in (("liked", liked), ("picked", picked)):
            wins[key] += value >= rand
            margins[key].append(value - rand)
        print(f"{os.path.basename(os.path.abspath(pair['run']))} {pair['name']}: likeliest ({pair['liked']['name']}) "
              f"{100 * liked:.2f}%, picked {100 * picked:.2f}%, random {100 * rand:.2f}%")
    for key, label in (("picked", "dnas' pick (supernet score)"), ("liked", "theta's likeliest candidate")):
        print(f"{label} >= random in {wins[key]} of {len(pairs)} pairs, mean margin "
              f"{100 * statistics.mean(margins[key]):+.2f} points (retrain seeds {seeds})")


if __name__ == "__main__":
    main()
