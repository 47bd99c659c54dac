"""`report.html`: one static page per release that shows what is inside (counts by source x year x split,
the drop funnel, caption lengths, where the images are, what the captions cost, example conversations).

Everything is inline SVG and CSS, with no script, font, tile or stylesheet fetched from anywhere, so the
page reads the same offline, from an archive or an air-gapped cluster. `report_data` gathers the numbers
from the lake; `report_html` is a pure function of them.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow.compute as pc

from rs_assets.lib.benchmark_splits.splits import SPLITS
from rs_assets.lib.funnel import Funnel, funnel
from rs_assets.lib.lake import Lake
from rs_assets.lib.release.versions import RELEASE_FILES

SPLIT_COLOURS = {"train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c"}
EXAMPLES_PER_TASK = 2
HISTOGRAM_BINS = 12


@dataclass
class ReportData:
    version: str
    counts: dict[tuple[str, int, str], int]  # (source, year, split) -> exported images
    funnels: dict[str, Funnel]  # stage -> its funnel over every partition
    caption_words: list[int]  # words per exported caption
    points: list[tuple[float, float, str]]  # (lon, lat, split) of exported images with coordinates
    cost: dict[str, dict[str, float]]  # source -> {"calls", "cost_usd"} over every model-calling stage
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # task -> a few LLaVA records


def release_funnel(exported: int, reasons: Iterable[str]) -> Funnel:
    """Canonical images -> held back per reason -> exported."""
    return Funnel("canonical_images", exported, dict(sorted(Counter(reasons).items())))


def written_release_funnel(lake: Lake, version: str) -> Funnel:
    """`release_funnel` of a written release, from its `samples.parquet` and `excluded.parquet`."""
    index = lake.read_table(f"release/{version}/{RELEASE_FILES['samples'][0]}", ["sample_kind"])
    excluded = lake.read_table(f"release/{version}/excluded.parquet", ["reason"])
    return release_funnel(index["sample_kind"].to_pylist().count("image"), excluded["reason"].to_pylist())


def _lake_funnel(lake: Lake, asset: str, column: str, unit: str, kept: str | None) -> Funnel | None:
    table = lake.read_all(asset, columns=[column])
    return None if table is None else funnel(unit, table[column].to_pylist(), kept=kept)


def _cost(lake: Lake) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = defaultdict(lambda: {"calls": 0.0, "cost_usd": 0.0})
    for asset in ("captions", "caption_scores", "instruction_sets"):
        table = lake.read_all(asset, columns=["source", "request_hash", "cost_usd"])
        if table is None:
            continue
        table = table.filter(pc.is_valid(table["request_hash"]))
        seen: set[str] = set()
        for row in table.to_pylist():
            out[row["source"]]["cost_usd"] += row["cost_usd"] or 0.0
            if row["request_hash"] not in seen:  # one request answers several rows
                seen.add(row["request_hash"])
                out[row["source"]]["calls"] += 1
    return dict(sorted(out.items()))


def report_data(
    lake: Lake, version: str, samples: dict[str, list[dict[str, Any]]], excluded: Sequence[dict[str, Any]]
) -> ReportData:
    """The report's numbers: the release's samples plus the funnels and costs over every partition."""
    counts: Counter[tuple[str, int, str]] = Counter()
    points, words = [], []
    examples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for split in SPLITS:
        for s in samples.get(split, []):
            counts[(s["source"], s["year"], split)] += 1
            if s.get("lat") is not None and s.get("lon") is not None:
                points.append((float(s["lon"]), float(s["lat"]), split))
            words += [len(c["text"].split()) for c in s["captions"]]
            for conv in s["conversations"]:
                if len(examples[conv["task"]]) < EXAMPLES_PER_TASK:
                    examples[conv["task"]].append({**conv, "image_id": s["image_id"], "source": s["source"]})
    funnels = {
        name: f
        for name, f in (
            ("raw_scrape", _lake_funnel(lake, "raw_scrape", "status", "items", "ok")),
            ("filtered_pool", _lake_funnel(lake, "filtered_pool", "drop_reason", "records", None)),
            (
                "release",
                release_funnel(sum(len(v) for v in samples.values()), (e["reason"] for e in excluded)),
            ),
        )
        if f is not None
    }
    examples = dict(sorted(examples.items()))
    return ReportData(version, dict(counts), funnels, words, points, _cost(lake), examples)


# -- rendering -------------------------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _shade(value: int, top: int) -> str:
    """White -> dark blue by value / top."""
    t = 0.0 if top == 0 else value / top
    r, g, b = (int(255 - t * (255 - c)) for c in (8, 48, 107))
    return f"rgb({r},{g},{b})"


def heatmap_svg(counts: dict[tuple[str, int, str], int]) -> str:
    """One panel per split: sources (rows) x years (columns), cells shaded by exported images."""
    sources = sorted({k[0] for k in counts})
    years = sorted({k[1] for k in counts})
    top = max(counts.values(), default=0)
    cw, ch, left, head = 46, 24, 140, 40
    panel_w = left + cw * max(1, len(years)) + 20
    height = head + ch * max(1, len(sources)) + 10
    parts = []
    for p, split in enumerate(SPLITS):
        x0 = p * panel_w
        parts.append(f'<text x="{x0 + left}" y="14" class="h">{_e(split)}</text>')
        for j, year in enumerate(years):
            parts.append(f'<text x="{x0 + left + j * cw + cw / 2}" y="32" class="c">{year}</text>')
        for i, source in enumerate(sources):
            y = head + i * ch
            parts.append(f'<text x="{x0 + left - 6}" y="{y + 16}" class="r">{_e(source)}</text>')
            for j, year in enumerate(years):
                n = counts.get((source, year, split), 0)
                x = x0 + left + j * cw
                parts.append(
                    f'<rect class="cell" x="{x}" y="{y}" width="{cw - 2}" height="{ch - 2}" '
                    f'fill="{_shade(n, top)}"><title>{_e(source)} {year} {split}: {n}</title></rect>'
                    f'<text x="{x + cw / 2 - 1}" y="{y + 16}" class="c{" w" if top and n > top / 2 else ""}">'
                    f"{n}</text>"
                )
    return _svg("heatmap", panel_w * len(SPLITS), height, "".join(parts))


def _svg(id_: str, width: float, height: float, body: str) -> str:
    return (
        f'<svg id="{id_}" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img">{body}</svg>'
    )


def funnel_svg(funnels: dict[str, Funnel]) -> str:
    """Per stage, a bar for what came in, one per drop reason and one for what was kept."""
    rows: list[tuple[str, str, int, str]] = []
    for stage, f in funnels.items():
        rows.append((stage, f"in ({f.unit})", f.total, "#555"))
        rows += [(stage, f"dropped: {r}", n, "#d62728") for r, n in f.dropped.items()]
        rows.append((stage, "kept", f.kept, "#2ca02c"))
    top = max((n for *_, n, _ in rows), default=0) or 1
    left, bar_w, rh = 330, 420, 20
    parts = []
    for i, (stage, label, n, colour) in enumerate(rows):
        y = 10 + i * rh
        parts.append(
            f'<text x="{left - 8}" y="{y + 14}" class="r">{_e(stage)} · {_e(label)}</text>'
            f'<rect class="bar" x="{left}" y="{y + 2}" width="{max(1.0, bar_w * n / top):.1f}" '
            f'height="{rh - 5}" fill="{colour}"></rect>'
            f'<text x="{left + bar_w * n / top + 6:.1f}" y="{y + 14}">{n}</text>'
        )
    return _svg("funnel", left + bar_w + 80, 20 + rh * max(1, len(rows)), "".join(parts))


def histogram_svg(values: Sequence[int], bins: int = HISTOGRAM_BINS) -> str:
    """Words per exported caption in equal-width bins."""
    lo, hi = (min(values), max(values)) if values else (0, 1)
    width = max(1, -(-(hi - lo + 1) // bins))
    counts = Counter((v - lo) // width for v in values)
    top = max(counts.values(), default=0) or 1
    left, base, bw, plot_h = 50, 230, 44, 200
    parts = [f'<line x1="{left}" y1="{base}" x2="{left + bins * bw}" y2="{base}" stroke="#333"></line>']
    for b in range(bins):
        n = counts.get(b, 0)
        h = plot_h * n / top
        x = left + b * bw
        parts.append(
            f'<rect class="bar" x="{x + 2}" y="{base - h:.1f}" width="{bw - 4}" height="{h:.1f}" '
            f'fill="#1f77b4"><title>{lo + b * width}-{lo + (b + 1) * width - 1} words: {n}</title></rect>'
            f'<text x="{x + bw / 2}" y="{base + 14}" class="c">{lo + b * width}</text>'
            + (f'<text x="{x + bw / 2}" y="{base - h - 4:.1f}" class="c">{n}</text>' if n else "")
        )
    parts.append(f'<text x="{left + bins * bw / 2}" y="{base + 32}" class="c">words per caption</text>')
    return _svg("caption_lengths", left + bins * bw + 20, base + 40, "".join(parts))


def map_svg(points: Sequence[tuple[float, float, str]]) -> str:
    """Equirectangular lon/lat scatter on a 30-degree graticule (no tiles: the page stays offline)."""
    w, h = 720, 360

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (lon + 180) / 360 * w, (90 - lat) / 180 * h

    parts = [f'<rect x="0" y="0" width="{w}" height="{h}" fill="#eef4f8" stroke="#789"></rect>']
    for lon in range(-180, 181, 30):
        x = xy(lon, 0)[0]
        parts.append(f'<line class="graticule" x1="{x}" y1="0" x2="{x}" y2="{h}"></line>')
        parts.append(f'<text x="{x + 2}" y="{h - 4}" class="t">{lon}°</text>')
    for lat in range(-90, 91, 30):
        y = xy(0, lat)[1]
        parts.append(f'<line class="graticule" x1="0" y1="{y}" x2="{w}" y2="{y}"></line>')
        parts.append(f'<text x="2" y="{y - 2}" class="t">{lat}°</text>')
    for lon, lat, split in points:
        x, y = xy(max(-180.0, min(180.0, lon)), max(-90.0, min(90.0, lat)))
        colour = SPLIT_COLOURS.get(split, "#000")
        parts.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}" '
            f'fill-opacity="0.7"><title>{lat:.3f}, {lon:.3f} ({split})</title></circle>'
        )
    return _svg("map", w, h, "".join(parts))


def cost_svg(cost: dict[str, dict[str, float]]) -> str:
    """Dollars spent per source (every model-calling stage), bars with calls in the label."""
    top = max((c["cost_usd"] for c in cost.values()), default=0.0) or 1.0
    left, bar_w, rh = 160, 400, 22
    parts = []
    for i, (source, c) in enumerate(cost.items()):
        y = 10 + i * rh
        parts.append(
            f'<text x="{left - 8}" y="{y + 15}" class="r">{_e(source)}</text>'
            f'<rect class="bar" x="{left}" y="{y + 3}" width="{max(1.0, bar_w * c["cost_usd"] / top):.1f}" '
            f'height="{rh - 6}" fill="#9467bd"></rect>'
            f'<text x="{left + bar_w * c["cost_usd"] / top + 6:.1f}" y="{y + 15}">'
            f"${c['cost_usd']:.4f} · {int(c['calls'])} calls</text>"
        )
    return _svg("cost", left + bar_w + 200, 20 + rh * max(1, len(cost)), "".join(parts))


def _funnel_tables(funnels: dict[str, Funnel]) -> str:
    rows = "".join(
        f"<tr><td>{_e(stage)}</td><td>{f.total}</td>"
        f"<td>{_e(', '.join(f'{r}: {n}' for r, n in f.dropped.items()) or '-')}</td><td>{f.kept}</td></tr>"
        for stage, f in funnels.items()
    )
    head = "<tr><th>stage</th><th>in</th><th>dropped (reason: count)</th><th>kept</th></tr>"
    return f"<table>{head}{rows}</table>"


def _examples(examples: dict[str, list[dict[str, Any]]]) -> str:
    if not examples:
        return "<p>No conversations in this release.</p>"
    out = []
    for task, records in examples.items():
        out.append(f'<h3 class="task">{_e(task)}</h3>')
        for rec in records:
            turns = "".join(
                f'<div class="turn {_e(t.get("from", ""))}"><b>{_e(t.get("from", ""))}</b>: '
                f"{_e(t.get('value', ''))}</div>"
                for t in rec["conversations"]
            )
            out.append(
                f'<div class="example"><div class="meta">{_e(rec["source"])} · '
                f"image {_e(rec['image_id'][:12])} · id {_e(rec['id'][:12])}</div>{turns}</div>"
            )
    return "".join(out)


CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}
svg text{font:11px sans-serif;fill:#222}svg .r{text-anchor:end}svg .c{text-anchor:middle}
svg .w{fill:#fff}svg .h{font-weight:bold;font-size:13px}svg .t{fill:#678;font-size:9px}
.graticule{stroke:#b8c8d4;stroke-width:0.6}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
.example{border:1px solid #ddd;border-radius:4px;padding:6px 10px;margin:6px 0;background:#fafafa}
.meta{color:#666;font-size:12px}.turn{margin:3px 0;white-space:pre-wrap}.legend span{margin-right:14px}
"""


def report_html(data: ReportData) -> str:
    """The whole page: no external reference of any kind (no src, href or url() outside the page)."""
    images = sum(data.counts.values())
    legend = "".join(f'<span style="color:{c}">● {s}</span>' for s, c in SPLIT_COLOURS.items())
    total_cost = sum(c["cost_usd"] for c in data.cost.values())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>rs_assets release {_e(data.version)}: dataset report</title><style>{CSS}</style></head>
<body>
<h1>rs_assets release <code>{_e(data.version)}</code></h1>
<p>{images} images, {len(data.caption_words)} captions, {sum(len(v) for v in data.examples.values())} example
conversations shown below. This page is self-contained: it loads nothing from anywhere.</p>
<h2 id="counts">Images by source × year × split</h2>
{heatmap_svg(data.counts)}
<h2 id="drops">Drop funnel</h2>
<p>Every record that entered a stage left it kept or dropped with a reason (all partitions).</p>
{funnel_svg(data.funnels)}
{_funnel_tables(data.funnels)}
<h2 id="lengths">Caption length</h2>
{histogram_svg(data.caption_words)}
<h2 id="locations">Image locations</h2>
<p class="legend">{len(data.points)} of {images} images have coordinates. {legend}</p>
{map_svg(data.points)}
<h2 id="costs">LLM cost per source</h2>
<p>Total ${total_cost:.4f} (captions, the caption judge and model-phrased instructions; offline: $0).</p>
{cost_svg(data.cost)}
<h2 id="examples">Examples per task</h2>
{_examples(data.examples)}
</body></html>
"""
