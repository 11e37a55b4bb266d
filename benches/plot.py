#!/usr/bin/env python3
"""Draws docs/img/*.png from the benchmarks' JSON output.

    python3 -m pip install matplotlib          # once
    cargo bench -p ringflow-benches --bench paired
    cargo bench -p ringflow-benches --bench spsc
    python3 benches/plot.py

Reads target/ringflow-bench/paired.json (the paired runner: every round's figures),
target/ringflow-bench/jmh.json (JMH's `-rf json` output) and criterion's
target/criterion/<group>/<bench>/new/{estimates,benchmark}.json, and writes one PNG
per table of docs/BENCHMARKS.md: for the paired runner each contestant's median over rounds with
its min..max as an error bar; for criterion each bench's median with its 95% interval, in frames/s
and bytes/s where the group is a throughput group.
"""

import glob
import json
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "docs", "img")


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def bars(title, names, values, lows, highs, unit, path):
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(names) + 1.5))
    y = range(len(names))
    colors = ["#d95f02" if n.startswith("ringflow") else "#7570b3" for n in names]
    err = [[v - lo for v, lo in zip(values, lows)], [hi - v for v, hi in zip(values, highs)]]
    ax.barh(list(y), values, xerr=err, color=colors, capsize=3)
    ax.set_yticks(list(y))
    ax.set_yticklabels(names)
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print("wrote", os.path.relpath(path, ROOT))


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


def paired():
    path = os.path.join(ROOT, "target", "ringflow-bench", "paired.json")
    if not os.path.exists(path):
        print("no", path, "- run the paired runner first", file=sys.stderr)
        return
    for section in json.load(open(path)):
        names = [f["name"] for f in section["rounds"][0]["figures"]]
        per = {n: [] for n in names}
        for r in section["rounds"]:
            for f in r["figures"]:
                per[f["name"]].append(f["value"])
        scale, unit = (1e6, section["unit"]) if "frames/s" in section["unit"] else (1.0, section["unit"])
        values = [median(per[n]) / scale for n in names]
        lows = [min(per[n]) / scale for n in names]
        highs = [max(per[n]) / scale for n in names]
        title = section["title"] + f" ({len(section['rounds'])} rounds; bars: median, whiskers: min..max)"
        bars(title, names, values, lows, highs, unit, os.path.join(OUT, "paired-" + slug(section["title"]) + ".png"))


def criterion():
    groups = {}
    for bench in glob.glob(os.path.join(ROOT, "target", "criterion", "*", "*", "new", "benchmark.json")):
        meta = json.load(open(bench))
        est = json.load(open(os.path.join(os.path.dirname(bench), "estimates.json")))
        groups.setdefault(meta["group_id"], []).append((meta, est))
    for group, benches in sorted(groups.items()):
        name = lambda m: m["function_id"] or m["value_str"]  # noqa: E731 (from_parameter ids)
        benches.sort(key=lambda b: (not name(b[0]).startswith("ringflow"), name(b[0])))
        names = [name(m) for m, _ in benches]
        med = [e["median"] for _, e in benches]
        elements = [(m.get("throughput") or {}).get("Elements") for m, _ in benches]
        if all(elements):
            # frames/s = frames per iteration / seconds per iteration (a higher ns bound is a lower rate).
            rate = lambda n, ns: n / (ns / 1e9) / 1e6  # noqa: E731
            values = [rate(n, m["point_estimate"]) for n, m in zip(elements, med)]
            lows = [rate(n, m["confidence_interval"]["upper_bound"]) for n, m in zip(elements, med)]
            highs = [rate(n, m["confidence_interval"]["lower_bound"]) for n, m in zip(elements, med)]
            bars(f"criterion {group}: median frames/s (whiskers: 95% interval)", names, values, lows, highs,
                 "M frames/s", os.path.join(OUT, f"criterion-{slug(group)}-frames.png"))
            size = re.search(r"(\d+)B", group)
            if size:
                b = int(size.group(1)) / 1e3  # M frames/s * bytes = MB/s; /1e3 = GB/s
                bars(f"criterion {group}: median bytes/s", names, [v * b for v in values],
                     [v * b for v in lows], [v * b for v in highs], "GB/s",
                     os.path.join(OUT, f"criterion-{slug(group)}-bytes.png"))
        else:
            values = [m["point_estimate"] for m in med]
            lows = [m["confidence_interval"]["lower_bound"] for m in med]
            highs = [m["confidence_interval"]["upper_bound"] for m in med]
            bars(f"criterion {group}: median time per iteration (whiskers: 95% interval)", names, values,
                 lows, highs, "ns", os.path.join(OUT, f"criterion-{slug(group)}.png"))


def jmh():
    path = os.path.join(ROOT, "target", "ringflow-bench", "jmh.json")
    if not os.path.exists(path):
        print("no", path, "- run the JMH benches first", file=sys.stderr)
        return
    runs = json.load(open(path))
    for size in sorted({r["params"]["frameSize"] for r in runs}, key=int):
        rows = [r for r in runs if r["params"]["frameSize"] == size]
        rows.sort(key=lambda r: (not r["benchmark"].split(".")[-1].startswith("ringflow"), r["benchmark"]))
        names, values, lows, highs, alloc = [], [], [], [], []
        for r in rows:
            m = r["primaryMetric"]
            norm = r.get("secondaryMetrics", {}).get("gc.alloc.rate.norm", {}).get("score", float("nan"))
            names.append(f'{r["benchmark"].split(".")[-1]} ({norm:.2f} B/frame)')
            values.append(m["score"] / 1e6)
            lows.append(min(m["rawData"][0]) / 1e6)
            highs.append(max(m["rawData"][0]) / 1e6)
        bars(f"JMH, {size}-byte frames to a JVM consumer: frames/s (whiskers: min..max iteration)",
             names, values, lows, highs, "M frames/s", os.path.join(OUT, f"jmh-{size}b.png"))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    paired()
    jmh()
    criterion()
