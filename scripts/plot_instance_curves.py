#!/usr/bin/env python3
"""Per-instance-index accuracy over training, from a run's metrics.csv, as an SVG line chart.

Every instance index is a thin grey line, the mean accuracy a thick blue one, the lowest index at each
point a red one. Rows of one split only (validation by default; `--split train` for the training window).

  python3 scripts/plot_instance_curves.py runs/n40/metrics.csv docs/charts/n40.svg --title "N = 40, mlp demux"
"""
import argparse
import csv
import sys

W, H, LEFT, RIGHT, TOP, BOTTOM = 800, 380, 60, 200, 36, 48


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("metrics", help="a run's metrics.csv")
    ap.add_argument("svg", help="where to write the chart")
    ap.add_argument("--split", default="validation", choices=["validation", "train"])
    ap.add_argument("--title", default="")
    a = ap.parse_args()
    with open(a.metrics, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == a.split]
    if not rows:
        sys.exit(f"{a.metrics}: no '{a.split}' rows (set [train] eval_every for validation rows)")
    inst = sorted((k for k in rows[0] if k.startswith("instance_")), key=lambda k: int(k.split("_")[1]))
    steps = [int(r["step"]) for r in rows]
    xmax = max(steps) or 1
    px = lambda s: LEFT + (W - LEFT - RIGHT) * s / xmax
    py = lambda v: TOP + (H - TOP - BOTTOM) * (1.0 - v)
    line = lambda pts, color, width: (f'<polyline fill="none" stroke="{color}" stroke-width="{width}" points="'
                                      + " ".join(f"{px(s):.1f},{py(v):.1f}" for s, v in pts) + '"/>')
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{LEFT}" y="20" font-size="14">{a.title} ({a.split} accuracy per instance index)</text>']
    for i in range(11):
        v = i / 10
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{v:.1f}</text>')
    for i in range(6):
        s = round(xmax * i / 5)
        out.append(f'<text x="{px(s):.1f}" y="{H - BOTTOM + 18}" text-anchor="middle">{s}</text>')
    out.append(f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 10}" text-anchor="middle">step</text>')
    for k in inst:
        out.append(line([(s, float(r[k])) for s, r in zip(steps, rows)], "#bbb", 1))
    out.append(line([(s, float(r["accuracy"])) for s, r in zip(steps, rows)], "#4e79a7", 2.5))
    out.append(line([(s, float(r["min_instance_accuracy"])) for s, r in zip(steps, rows)], "#e15759", 2))
    last = rows[-1]
    low = min(inst, key=lambda k: float(last[k]))
    legend = [("#4e79a7", f"mean {float(last['accuracy']):.4f}"),
              ("#e15759", f"lowest index {float(last['min_instance_accuracy']):.4f}"),
              ("#bbb", f"each index ({len(inst)}); lowest: {low.split('_')[1]}")]
    for j, (color, text) in enumerate(legend):
        y = TOP + 10 + 20 * j
        out.append(f'<line x1="{W - RIGHT + 10}" x2="{W - RIGHT + 30}" y1="{y}" y2="{y}" stroke="{color}" stroke-width="3"/>')
        out.append(f'<text x="{W - RIGHT + 36}" y="{y + 4}" font-size="11">{text}</text>')
    out.append("</svg>")
    with open(a.svg, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
