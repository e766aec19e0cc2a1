"""Dependency-free SVG charts for the report: horizontal bars with min–max whiskers
and an aim line (ratios), and a time series (the soak's RSS and descriptors)."""

from xml.sax.saxutils import escape

FONT = 'font-family="sans-serif" font-size="12"'


def ratio_bars(path, title, bars, aim=None, unit="×", aim_label="aim", lower=False):
    """bars: [{"label", "median", "min", "max"}, optionally "aim"]; one bar per row,
    whiskers min–max, red where the median misses its aim (the bar's own, else the
    chart's; `lower`: at most the aim is good)."""
    label_w, plot_w, row_h, top = 260, 420, 26, 40
    height = top + row_h * len(bars) + 40
    hi = max([b["max"] for b in bars] + [aim or 0] + [1e-9]) * 1.1
    x = lambda v: label_w + plot_w * v / hi  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 80}" '
           f'height="{height}" {FONT}>',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>']
    for i, b in enumerate(bars):
        y = top + i * row_h
        goal = b.get("aim", aim)
        met = goal is None or (b["median"] <= goal if lower else b["median"] >= goal)
        color = "#4c78a8" if met else "#e45756"
        out.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(b["label"])}</text>')
        out.append(f'<rect x="{label_w}" y="{y + 4}" width="{x(b["median"]) - label_w:.1f}" '
                   f'height="{row_h - 8}" fill="{color}"/>')
        out.append(f'<line x1="{x(b["min"]):.1f}" x2="{x(b["max"]):.1f}" y1="{y + 13}" '
                   f'y2="{y + 13}" stroke="black"/>')
        for v in (b["min"], b["max"]):
            out.append(f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{y + 8}" y2="{y + 18}" stroke="black"/>')
        out.append(f'<text x="{x(b["max"]) + 6:.1f}" y="{y + 17}">{b["median"]:.2f}{unit}</text>')
    base = top + row_h * len(bars)
    out.append(f'<line x1="{label_w}" x2="{label_w}" y1="{top}" y2="{base}" stroke="black"/>')
    if aim is not None:
        out.append(f'<line x1="{x(aim):.1f}" x2="{x(aim):.1f}" y1="{top - 6}" y2="{base + 4}" '
                   'stroke="#54a24b" stroke-width="2" stroke-dasharray="5,3"/>')
        out.append(f'<text x="{x(aim):.1f}" y="{base + 18}" text-anchor="middle" fill="#54a24b">'
                   f'{escape(aim_label)} {aim:g}{unit}</text>')
    out.append(f'<text x="{label_w}" y="{height - 6}" fill="#555">bar: median of the repetitions; '
               'whisker: min–max</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def series(path, title, xs, lines, x_label="seconds"):
    """lines: [{"label", "values", "color"}], each scaled from 0 to its own maximum
    and drawn over the same x axis (labelled with their min and max)."""
    w, h, left, top, bottom = 720, 300, 60, 40, 40
    pw, ph = w - left - 20, h - top - bottom
    xmax = max(xs) if xs else 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" {FONT}>',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
           f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="black"/>',
           f'<text x="{left + pw}" y="{h - 8}" text-anchor="end">{escape(x_label)} (0–{xmax:.0f})</text>']
    for n, line in enumerate(lines):
        vals = line["values"]
        if not vals:
            continue
        lo, hi = min(vals), max(vals)
        # From zero to the line's own maximum: a drift of 2% looks like 2%.
        pts = " ".join(f"{left + pw * xv / (xmax or 1):.1f},{top + ph - ph * v / (hi or 1):.1f}"
                       for xv, v in zip(xs, vals))
        out.append(f'<polyline fill="none" stroke="{line["color"]}" stroke-width="1.5" points="{pts}"/>')
        out.append(f'<text x="{left + 10 + 330 * n}" y="{top - 6}" fill="{line["color"]}">'
                   f'{escape(line["label"])}: {lo:g} … {hi:g}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
