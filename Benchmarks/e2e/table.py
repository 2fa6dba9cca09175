#!/usr/bin/env python3
"""Prints the Markdown table of an end-to-end run from its JSON-lines file (the "row" records).

    python3 Benchmarks/e2e/table.py RESULTS.jsonl
"""
import json
import sys

HEADER = ["row", "workload", "Runnel", "peer", "ratio", "target", "met", "load (1 min)"]


def fmt_ratio(r):
    return "—" if r is None else f"{r:.2f}"


def fmt_met(m):
    return {True: "met", False: "**not met**", None: "—"}[m]


def render(rows):
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows:
        cells = [str(r["row"]), r["workload"], r["runnel"], r["peer"], fmt_ratio(r.get("ratio")),
                 r.get("target") or "—", fmt_met(r.get("met")), r.get("load", "")]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def load(path):
    with open(path) as f:
        return [rec for rec in map(json.loads, f) if rec.get("kind") == "row"]


if __name__ == "__main__":
    print(render(load(sys.argv[1])))
