#!/usr/bin/env python3
"""When `dnas search --select trained` loses to random search, is it the pool or the pick?
(bench/README.md, "Trial candidates".)

For every dnas search of the given bench/search_quality.py output folders (optionally only those at
the targets --targets names), each candidate the search trial-trained is retrained with the run's
own recipe and seeds (results.json). No search runs again; the pick's retrains are the run's own.
Prints per search the candidates' trial scores against their retrained accuracy, and over all
searches:
  - Kendall's tau-b of trial score against retrained accuracy, within each search;
  - in how many (target, seed) pairs the pick, the best of the trial-trained pool (an oracle), the
    pool's worst, its likeliest under theta and its best by the first round of trials alone (the
    pick without --trial-finalists) are at least as good as random search's pick, with the mean
    margins; with --short, also the pool's best by that short training.
If the oracle wins pairs the pick loses, the trial ranking is what to fix; if the oracle loses
too, the pool is.

Usage: python3 bench/trial_candidates.py --dnas build/cli/dnas --out DIR [--targets 0.847,0.865]
       [--short 3,2400 ...] RUN [RUN ...]
"""
import argparse
import concurrent.futures
import glob
import json
import os
import re
import statistics

from bench_runs import dnas_search_key, read_results, retrain, retrained_scores
from proxy_rank import kendall_tau_b


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="bench/search_quality.py output folders (with results.json)")
    p.add_argument("--dnas", default="build/cli/dnas")
    p.add_argument("--out", default="runs/trial_candidates")
    p.add_argument("--targets", default="", help="comma-separated targets in ms to keep (default: all)")
    p.add_argument("--short", action="append", default=[], metavar="EPOCHS,IMAGES",
                   help="also train every candidate EPOCHS epochs on the first IMAGES training images (seed 0, "
                        "scored on the test set) and rank the pools by that; repeatable")
    a = p.parse_args()
    shorts = []
    for text in a.short:
        m = re.fullmatch(r"([0-9]+),([0-9]+)", text)
        if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
            p.error(f"--short: expected EPOCHS,IMAGES (two positive integers), got {text!r}")
        shorts.append((int(m.group(1)), int(m.group(2))))
    keep = {float(t) for t in a.targets.split(",") if t}
    dnas, out = os.path.abspath(a.dnas), os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)

    searches = []
    for run in a.runs:
        results = read_results(run, p)
        recipe = results["train_recipe"]
        scored = retrained_scores(results)
        tag = os.path.basename(os.path.abspath(run))
        for folder in sorted(glob.glob(os.path.join(run, "dnas_T*_s*"))):
            if not os.path.isdir(folder):
                continue
            name = os.path.basename(folder)
            target, seed = dnas_search_key(folder)
            if keep and target not in keep:
                continue
            with open(os.path.join(folder, "candidates.json")) as f:
                tried = [c for c in json.load(f)["candidates"] if c.get("trial_accuracy_theta_split") is not None]
            if not tried:
                p.error(f"{folder}: no trial-trained candidates (was it searched with --select trained?)")
            with open(os.path.join(folder, "arch.json")) as f:
                arch = json.load(f)
            for c in tried:
                for layer, op in zip(arch["layers"], c["choices"]):
                    layer["op"] = op
                c["arch"] = os.path.join(out, f"{tag}_{name}_{c['name'].replace(' ', '')}.json")
                with open(c["arch"], "w") as f:
                    json.dump(arch, f, indent=1)
            searches.append({"tag": tag, "name": name, "recipe": recipe, "tried": tried,
                             "picked": scored[("dnas", target, seed)],
                             "random": scored[("random", target, seed)]})

    def full(job):
        search, c, seed = job
        if c["selected"]:
            return search["picked"][seed]
        r = search["recipe"]
        return retrain(dnas, c["arch"], c["arch"][:-len(".json")] + f"_seed{seed}", "fashion-mnist",
                       r["samples"], r["epochs"], seed)

    jobs = [(s, c, seed) for s in searches for c in s["tried"] for seed in s["recipe"]["seeds"]]
    print(f"==> {len(searches)} searches, {sum(len(s['tried']) for s in searches)} trial-trained candidates, "
          f"{sum(not j[1]['selected'] for j in jobs)} retrains", flush=True)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        tops = list(pool.map(full, jobs))
    for (s, c, seed), top1 in zip(jobs, tops):
        c.setdefault("full", []).append(top1)

    def short(job):
        c, (epochs, images) = job
        return retrain(dnas, c["arch"], c["arch"][:-len(".json")] + f"_e{epochs}_n{images}", "fashion-mnist",
                       images, epochs, 0)

    jobs = [(c, recipe) for recipe in shorts for s in searches for c in s["tried"]]
    if jobs:
        print(f"==> {len(jobs)} short trainings ({', '.join(f'{e} epochs on {n}' for e, n in shorts)})", flush=True)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for (c, recipe), top1 in zip(jobs, pool.map(short, jobs)):
            c[recipe] = top1

    taus, margins = [], {"pick": [], "oracle": [], "worst": [], "likeliest": [], "first round": []}
    for s in searches:
        rand = statistics.mean(s["random"])
        trial = [c["trial_accuracy_theta_split"] for c in s["tried"]]
        full_mean = [statistics.mean(c["full"]) for c in s["tried"]]
        taus.append(kendall_tau_b(trial, full_mean))
        pick = statistics.mean(next(c for c in s["tried"] if c["selected"])["full"])
        likeliest = statistics.mean(max(s["tried"], key=lambda c: c["log_likelihood"])["full"])
        # The first round's best (ties: the likelier): the pick without --trial-finalists.
        first_round = statistics.mean(max(s["tried"], key=lambda c: (c["trial_accuracy_theta_split"],
                                                                     c["log_likelihood"]))["full"])
        for key, value in (("pick", pick), ("oracle", max(full_mean)), ("worst", min(full_mean)),
                           ("likeliest", likeliest), ("first round", first_round)):
            margins[key].append(value - rand)
        print(f"{s['tag']} {s['name']}: random {100 * rand:.2f}%, tau {taus[-1]:+.2f}")
        for c, f in sorted(zip(s["tried"], full_mean), key=lambda cf: -cf[0]["trial_accuracy_theta_split"]):
            final = c.get("final_trial_accuracy_theta_split")
            print(f"   trial {100 * c['trial_accuracy_theta_split']:.1f}%  "
                  f"{f'final {100 * final:.1f}%  ' if final is not None else ''}full {100 * f:.2f}%  "
                  f"{c['predicted_latency_ms']:.3f} ms  {'PICK ' if c['selected'] else '     '}{' '.join(c['choices'])}")
    print(f"Kendall tau-b of trial score against retrained accuracy, per search: mean {statistics.mean(taus):+.2f} "
          f"({' '.join(f'{t:+.2f}' for t in taus)})")
    labels = [("pick", "the pick"), ("oracle", "best of the pool"), ("worst", "worst of the pool"),
              ("likeliest", "the pool's likeliest under theta"), ("first round", "the first round's best")]
    for recipe in shorts:
        key = f"{recipe[0]} epochs on {recipe[1]}"
        labels.append((key, f"best of the pool by {key} (test-scored)"))
        recipe_taus = []
        for s in searches:
            full_mean = [statistics.mean(c["full"]) for c in s["tried"]]
            recipe_taus.append(kendall_tau_b([c[recipe] for c in s["tried"]], full_mean))
            best = max(s["tried"], key=lambda c: c[recipe])
            margins.setdefault(key, []).append(statistics.mean(best["full"]) - statistics.mean(s["random"]))
        print(f"Kendall tau-b of {key} (test-scored) against retrained accuracy, per search: mean "
              f"{statistics.mean(recipe_taus):+.2f} ({' '.join(f'{t:+.2f}' for t in recipe_taus)})")
    for key, label in labels:
        wins = sum(m >= 0 for m in margins[key])
        print(f"{label} >= random in {wins} of {len(searches)} pairs, mean margin "
              f"{100 * statistics.mean(margins[key]):+.2f} points")


if __name__ == "__main__":
    main()
