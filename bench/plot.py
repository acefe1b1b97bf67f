"""PNG plots of bench/results/results.json (run by bench/run.py with the peers' Python).

  bench/peers/.venv/bin/python bench/plot.py bench/results
"""

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def label(ax: Any, title: str, x: str, y: str) -> None:
    ax.set_title(title)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


def save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# what each ratio of results.json's "ratios" is, and its goal (issue 12)
RATIOS = [("tokens_vs_oidc_provider", "tokens /\noidc-provider", 1.25),
          ("tokens_vs_bare", "tokens /\nbare signer", 0.6),
          ("cases_vs_bare", "POST /cases /\nbare", 0.5),
          ("introspect_vs_bare", "introspection /\nbare", 0.5),
          ("tokens_vs_sqlite", "tokens /\nSQLite's", 0.7)]


def ratios_plot(ratios: list[dict[str, Any]], out: Path) -> None:
    """casegate's ratios per engine as bars, each goal as a short black line."""
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / max(len(ratios), 1)
    for i, found in enumerate(ratios):
        xs = [n + (i - (len(ratios) - 1) / 2) * width for n in range(len(RATIOS))]
        values = [found.get(key) or 0.0 for key, _, _ in RATIOS]
        bars = ax.bar(xs, values, width, label=found["db"])
        ax.bar_label(bars, labels=[f"{v:.2f}" if v else "" for v in values], fontsize=7)
    for n, (_, _, goal) in enumerate(RATIOS):
        ax.hlines(goal, n - 0.45, n + 0.45, colors="black", linewidth=1.5,
                  label="goal" if n == 0 else None)
    ax.set_xticks(range(len(RATIOS)), [name for _, name, _ in RATIOS], fontsize=8)
    conns = ratios[0]["conns"] if ratios else "?"
    label(ax, f"casegate's ratios at {conns} connections, per database", "",
          "ratio (successful requests/s)")
    save(fig, out / "ratios.png")


def main(out: Path) -> None:
    results = json.loads((out / "results.json").read_text())
    rows = results["rows"]
    if results.get("ratios"):
        ratios_plot(results["ratios"], out)
    compare = [r for r in rows if r["section"] == "compare"]
    if compare:
        workloads = list(dict.fromkeys(r["workload"] for r in compare))
        fig, axes = plt.subplots(1, len(workloads), figsize=(4.5 * len(workloads), 4),
                                 squeeze=False)
        engines = {r["db"] for r in compare if r["target"] == "casegate"}
        for ax, workload in zip(axes[0], workloads, strict=True):
            for target, db in dict.fromkeys((r["target"], r["db"]) for r in compare):
                pts = sorted((r["conns"], r["ok_rps"]) for r in compare
                             if (r["target"], r["db"]) == (target, db)
                             and r["workload"] == workload)
                name = f"{target} ({db})" if target in ("casegate", "bare") and \
                    len(engines) > 1 else target
                if pts:
                    ax.plot(*zip(*pts, strict=True), marker="o", label=name)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            label(ax, workload, "connections", "successful requests/s")
        save(fig, out / "throughput_vs_concurrency.png")
    grown = [r for r in rows if r["section"] == "growth"]
    if grown:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for ax, series in zip(axes, ("clients", "revoked"), strict=True):
            for db in ("sqlite", "postgresql"):
                for workload in ("token", "cases"):
                    pts = sorted((max(r["size"], 1), r["cpu_ms_per_req"]) for r in grown
                                 if r["series"] == series and r["db"] == db
                                 and r["workload"] == workload)
                    if pts:
                        ax.plot(*zip(*pts, strict=True), marker="o", label=f"{workload}, {db}")
            ax.set_xscale("log")
            ax.set_ylim(bottom=0)
            label(ax, f"server CPU per request vs {series} in the store",
                  f"{series} (0 drawn at 1)", "CPU ms / request")
        save(fig, out / "cost_vs_store.png")
    scaled = [r for r in rows if r["section"] == "workers"]
    if scaled:
        fig, ax = plt.subplots(figsize=(6, 4))
        keys = dict.fromkeys((r["target"], r["db"], r["workload"]) for r in scaled)
        for target, db, workload in keys:
            pts = sorted((r["workers"], r["ok_rps"]) for r in scaled if
                         (r["target"], r["db"], r["workload"]) == (target, db, workload))
            ax.plot(*zip(*pts, strict=True), marker="o", label=f"{target} {workload} ({db})")
        ax.set_yscale("log")
        label(ax, "throughput vs worker processes", "worker processes",
              "successful requests/s (32 connections)")
        save(fig, out / "workers.png")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
