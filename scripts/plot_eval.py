"""Draws JSON results of `diffplan eval --json` (or `launch --json`) side by side as an SVG:
one column per file, its episodes' normalized scores as dots and its mean ± standard error as a
bar with whiskers. Standard library only, so it runs with any Python 3.

Usage:
  python scripts/plot_eval.py A.json [B.json ...] --out comparison.svg [--labels a,b]
"""

import argparse
import json
import math
import sys
from xml.sax.saxutils import escape

WIDTH_PER_RUN, HEIGHT, MARGIN = 190, 320, 60
BAR, DOT = "#4c78a8", "#f58518"


def load(path):
    with open(path) as f:
        results = json.load(f)
    if results.get("format_version") != 1:
        sys.exit(f"{path}: format_version {results.get('format_version')!r}, this script reads 1")
    scores = [e["score"] for e in results["episodes"]]
    if not scores:
        sys.exit(f"{path}: no episodes")
    return results, scores


def svg(runs, labels):
    lo = min(0.0, min(min(s) for _, s in runs))
    hi = max(max(s) for _, s in runs)
    hi = lo + 1.0 if hi <= lo else hi + 0.05 * (hi - lo)
    width = MARGIN + WIDTH_PER_RUN * len(runs) + 20
    plot_h = HEIGHT - 2 * MARGIN

    def y(v):
        return MARGIN + plot_h * (hi - v) / (hi - lo)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{HEIGHT}" fill="white"/>',
           f'<line x1="{MARGIN}" y1="{MARGIN}" x2="{MARGIN}" y2="{HEIGHT - MARGIN}" stroke="black"/>',
           f'<text x="14" y="{HEIGHT / 2}" transform="rotate(-90 14 {HEIGHT / 2})" text-anchor="middle">score ×100</text>']
    for k in range(6):
        v = lo + (hi - lo) * k / 5
        out.append(f'<line x1="{MARGIN - 4}" y1="{y(v):.1f}" x2="{MARGIN}" y2="{y(v):.1f}" stroke="black"/>')
        out.append(f'<text x="{MARGIN - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>')
    for i, ((results, scores), label) in enumerate(zip(runs, labels)):
        summary = results["summary"]
        mean, se = summary["score_mean"], summary["score_standard_error"]
        cx = MARGIN + WIDTH_PER_RUN * (i + 0.5)
        out.append(f'<rect class="mean" x="{cx - 30:.1f}" y="{min(y(mean), y(0)):.1f}" width="60" '
                   f'height="{abs(y(0) - y(mean)):.1f}" fill="{BAR}" fill-opacity="0.6"/>')
        out.append(f'<line x1="{cx:.1f}" y1="{y(mean - se):.1f}" x2="{cx:.1f}" y2="{y(mean + se):.1f}" stroke="black" stroke-width="2"/>')
        for j, s in enumerate(scores):
            jitter = 24 * math.sin(2.399963 * j)
            out.append(f'<circle class="episode" cx="{cx + jitter:.1f}" cy="{y(s):.1f}" r="2" fill="{DOT}"/>')
        out.append(f'<text x="{cx:.1f}" y="{HEIGHT - MARGIN + 16}" text-anchor="middle">{escape(label)}</text>')
        out.append(f'<text x="{cx:.1f}" y="{HEIGHT - MARGIN + 32}" text-anchor="middle">{mean:.1f} ± {se:.1f} '
                   f'({summary["episodes"]} eps)</text>')
        out.append(f'<text x="{cx:.1f}" y="{HEIGHT - MARGIN + 46}" text-anchor="middle" font-size="10">'
                   f'seeds {results["first_seed"]}–{results["first_seed"] + len(scores) - 1}</text>')
    tasks = ", ".join(dict.fromkeys(results["task"] for results, _ in runs))
    out.append(f'<text x="{width / 2:.1f}" y="30" text-anchor="middle" font-size="14">{escape(tasks)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", help="JSON files written by --json")
    parser.add_argument("--out", required=True, help="the SVG to write")
    parser.add_argument("--labels", help="comma-separated column labels (default: each file's policy and sampler)")
    args = parser.parse_args()
    runs = [load(p) for p in args.results]
    labels = args.labels.split(",") if args.labels else [f"{r['policy']} ({r['sampler']})" for r, _ in runs]
    if len(labels) != len(runs):
        sys.exit(f"--labels names {len(labels)} columns for {len(runs)} files")
    with open(args.out, "w") as f:
        f.write(svg(runs, labels))


if __name__ == "__main__":
    main()
