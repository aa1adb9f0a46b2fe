"""Agreement reports: a self-contained HTML page, the figures as CSV and JSON, and the
disagreement list for the consensus discussion.

The HTML has inline CSS and an inline SVG chart and loads nothing from anywhere, so it
can be mailed, archived or opened offline.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

from pipeline.agreement.coefficients import (
    ALPHA_RELIABLE, ALPHA_TENTATIVE, COEFFICIENTS, krippendorff_verdict, landis_koch,
)
from pipeline.agreement.units import AgreementResult, ItemAgreement, PairResult
from pipeline.io import atomic_write_csv, atomic_write_text

REPORT_FILES = ("report.html", "figures.csv", "pairs.csv", "disagreements.csv")


def _f(x: float | None, digits: int = 3) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def headline(item: ItemAgreement) -> str:
    """The κ shown beside α: Cohen's for two coders, Fleiss' otherwise."""
    return "cohen_kappa" if "cohen_kappa" in item.estimates else "fleiss_kappa"


# --------------------------------------------------------------------------- JSON


def result_to_json(result: AgreementResult) -> dict:
    """The figures as a JSON-ready dict.

    The top level holds the coefficients of the overall item as floats (``None`` where
    undefined) under their registry names. A table input has exactly those keys; coded
    inputs add ``unit``, ``rule``, ``coders``, ``codes`` (per code: coefficients,
    ``n_units``, ``alpha_ci``) and ``pairs``.
    """
    out: dict = {name: _num(est.value) for name, est in result.overall.estimates.items()}
    if result.unit == "table":
        return out
    out["unit"] = result.unit
    out["rule"] = result.rule
    out["coders"] = list(result.coders)
    out["model_coders"] = list(result.model_coders)
    out["codes"] = {
        item.name: {
            **{name: _num(est.value) for name, est in item.estimates.items()},
            "n_units": item.n_units,
            "alpha_ci": [_num(x) for x in item.bootstrap.ci] if item.bootstrap else None,
            "note": item.note,
        }
        for item in result.items
    }
    out["pairs"] = [
        {"coder_a": p.coder_a, "coder_b": p.coder_b, "n_units": p.n_units,
         **{name: _num(est.value) for name, est in p.estimates.items()}}
        for p in result.overall.pairs
    ]
    return out


# --------------------------------------------------------------------------- CSV


def _figure_rows(result: AgreementResult):
    items = [result.overall, *result.items]
    for item in items:
        for name, est in item.estimates.items():
            lo, hi = est.ci
            yield [item.name, "all coders", name, _f(est.value, 6), _f(est.se, 6), _f(lo, 6), _f(hi, 6),
                   _f(est.pa, 6), _f(est.pe, 6), item.n_units, item.level]
        for p in item.pairs:
            for name, est in p.estimates.items():
                lo, hi = est.ci
                yield [item.name, f"{p.coder_a} vs {p.coder_b}", name, _f(est.value, 6), _f(est.se, 6), _f(lo, 6),
                       _f(hi, 6), _f(est.pa, 6), _f(est.pe, 6), p.n_units, item.level]


def write_report(result: AgreementResult, directory: str | Path, *, title: str = "Inter-coder agreement") -> list[Path]:
    """Write ``report.html``, ``figures.csv``, ``pairs.csv`` and ``disagreements.csv``.

    Returns the paths written.
    """
    directory = Path(directory)
    paths = [directory / name for name in REPORT_FILES]
    atomic_write_text(paths[0], render_html(result, title=title))
    atomic_write_csv(paths[1], ["item", "coders", "coefficient", "value", "se", "ci_low", "ci_high", "pa", "pe",
                                "n_units", "level"], _figure_rows(result))
    atomic_write_csv(
        paths[2], ["item", "coder_a", "coder_b", "involves_model", "n_units", *[f"{c}" for c in _pair_keys(result)]],
        ([item.name, p.coder_a, p.coder_b, str(p.involves_model).lower(), p.n_units,
          *[_f(p.estimates[k].value, 6) if k in p.estimates else "" for k in _pair_keys(result)]]
         for item in (result.overall, *result.items) for p in item.pairs),
    )
    atomic_write_csv(
        paths[3], ["unit", "document", "item", *result.coders, "text"],
        ([d.unit, d.document, d.item, *[v for _, v in d.values], d.text] for d in result.disagreements),
    )
    return paths


def _pair_keys(result: AgreementResult) -> list[str]:
    keys: list[str] = []
    for item in (result.overall, *result.items):
        for p in item.pairs:
            keys += [k for k in p.estimates if k not in keys]
    return keys


# --------------------------------------------------------------------------- HTML

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;color:#222;
line-height:1.4;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;
text-align:right;vertical-align:top}th{background:#f3f3f3}td.l,th.l{text-align:left}
tr.model td{background:#eef6ff}.ok{color:#1a7f37}.tent{color:#9a6700}.bad{color:#cf222e}
table.confusion{display:inline-table;margin-right:1.5rem}.note{color:#555;font-size:.9rem}details{margin:.25rem 0}code{background:#f6f8fa;padding:0 .2rem}
"""


def _verdict_class(alpha: float) -> str:
    return {"reliable": "ok", "tentative": "tent", "unreliable": "bad"}.get(krippendorff_verdict(alpha), "")


def _estimate_rows(item: ItemAgreement) -> str:
    rows = []
    for name, est in item.estimates.items():
        lo, hi = est.ci
        reading = krippendorff_verdict(est.value) if name == "krippendorff_alpha" else (
            landis_koch(est.value) if name != "percent_agreement" else "")
        rows.append(
            f"<tr><td class='l'>{html.escape(COEFFICIENTS[name].label)}</td><td>{_f(est.value)}</td>"
            f"<td>{_f(est.se)}</td><td>{_f(lo)} – {_f(hi)}</td><td>{_f(est.pa)}</td><td>{_f(est.pe)}</td>"
            f"<td class='l'>{html.escape(reading)}</td></tr>"
        )
    if item.bootstrap is not None:
        b = item.bootstrap
        probs = ", ".join(f"P(α &lt; {m:.3f}) = {p:.3f}" for m, p in b.p_below)
        rows.append(
            f"<tr><td class='l'>α bootstrap ({b.n_boot} resamples of units)</td><td>{_f(b.alpha)}</td><td></td>"
            f"<td>{_f(b.ci[0])} – {_f(b.ci[1])}</td><td colspan='3' class='l'>{probs}</td></tr>"
        )
    return (
        "<table class='coefficients'><tr><th class='l'>Coefficient</th><th>Value</th><th>SE</th>"
        f"<th>{int(round(100 * next(iter(item.estimates.values())).confidence)) if item.estimates else 95} % CI</th>"
        "<th>p<sub>a</sub></th><th>p<sub>e</sub></th><th class='l'>Reading</th></tr>" + "".join(rows) + "</table>"
    )


def _pairs_table(item: ItemAgreement, model_first: bool = True) -> str:
    if not item.pairs:
        return "<p class='note'>No pair of coders rated common units.</p>"
    keys = [k for k in item.pairs[0].estimates]
    pairs = sorted(item.pairs, key=lambda p: (not p.involves_model, p.coder_a, p.coder_b)) if model_first else item.pairs
    head = "".join(f"<th>{html.escape(COEFFICIENTS[k].label)}</th>" for k in keys)
    body = "".join(
        f"<tr class='{'model' if p.involves_model else 'human'}'><td class='l'>{html.escape(p.coder_a)}</td>"
        f"<td class='l'>{html.escape(p.coder_b)}</td><td>{p.n_units}</td>"
        + "".join(f"<td>{_f(p.estimates[k].value)}</td>" for k in keys) + "</tr>"
        for p in pairs
    )
    return (f"<table class='pairs'><tr><th class='l'>Coder</th><th class='l'>Coder</th><th>Units</th>{head}</tr>"
            f"{body}</table>")


def _confusion(p: PairResult, categories: tuple) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in categories)
    body = "".join(
        f"<tr><th class='l'>{html.escape(str(c))}</th>" + "".join(f"<td>{int(v)}</td>" for v in row) + "</tr>"
        for c, row in zip(categories, p.confusion)
    )
    return (f"<table class='confusion'><caption>{html.escape(p.coder_a)} (rows) × {html.escape(p.coder_b)} "
            f"(columns)</caption><tr><th></th>{head}</tr>{body}</table>")


def _chart(items: list[ItemAgreement]) -> str:
    """Horizontal bars of α and κ per code, with the .667 and .80 lines."""
    shown = [i for i in items if i.estimates]
    if not shown:
        return ""
    row_h, left, width = 22, 220, 460
    height = row_h * len(shown) + 40
    lo = min(-0.2, *(min(i.estimates["krippendorff_alpha"].value, i.estimates[headline(i)].value)
                     for i in shown if all(math.isfinite(i.estimates[k].value)
                                           for k in ("krippendorff_alpha", headline(i)))), 0.0)
    lo = max(lo, -1.0)

    def x(v: float) -> float:
        return left + (v - lo) / (1 - lo) * width

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' role='img' aria-label='Agreement per code' "
             f"width='{left + width + 40}' height='{height}' font-size='12' font-family='sans-serif'>"]
    for i, item in enumerate(shown):
        y = 10 + i * row_h
        parts.append(f"<text x='{left - 6}' y='{y + 13}' text-anchor='end'>{html.escape(item.name[:32])}</text>")
        for k, (key, colour, dy) in enumerate((("krippendorff_alpha", "#0969da", 0), (headline(item), "#bf8700", 9))):
            v = item.estimates[key].value
            if math.isfinite(v):
                x0, x1 = sorted((x(0.0), x(v)))
                parts.append(f"<rect x='{x0:.1f}' y='{y + dy + 1}' width='{max(x1 - x0, 1):.1f}' height='8' "
                             f"fill='{colour}'><title>{html.escape(item.name)}: {key} = {v:.3f}</title></rect>")
    bottom = 10 + len(shown) * row_h
    for v, label, dash in ((0.0, "0", ""), (ALPHA_TENTATIVE, ".667", "4 3"), (ALPHA_RELIABLE, ".80", "4 3"), (1.0, "1", "")):
        parts.append(f"<line x1='{x(v):.1f}' y1='4' x2='{x(v):.1f}' y2='{bottom}' stroke='#555' "
                     f"stroke-dasharray='{dash}'/><text x='{x(v):.1f}' y='{bottom + 14}' text-anchor='middle'>{label}</text>")
    parts.append(f"<text x='{left}' y='{bottom + 30}'><tspan fill='#0969da'>■</tspan> Krippendorff's α "
                 f"<tspan fill='#bf8700'>■</tspan> κ (Cohen for two coders, else Fleiss)</text></svg>")
    return "".join(parts)


def render_html(result: AgreementResult, *, title: str = "Inter-coder agreement", max_disagreements: int = 500) -> str:
    """The report as one self-contained HTML string."""
    overall = result.overall
    out = [
        "<!DOCTYPE html><html lang='de'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p><strong>Unit of analysis:</strong> {html.escape(result.rule)}.</p>",
        f"<p><strong>Coders:</strong> {html.escape(', '.join(result.coders))}"
        + (f" (model: {html.escape(', '.join(result.model_coders))})" if result.model_coders else "") + ".</p>",
        "<p class='note'>Krippendorff: α ≥ .800 reliable, ≥ .667 tentative conclusions. Landis &amp; Koch bands for "
        "κ: .81 almost perfect, .61 substantial, .41 moderate, .21 fair. Intervals: t distribution (Gwet 2014); "
        "α bootstrap over units.</p>",
        f"<h2 id='overall'>Overall: {html.escape(overall.name)}</h2>",
        f"<p>{overall.n_units} units rated by two or more coders. {html.escape(overall.note)}</p>",
        _estimate_rows(overall) if overall.estimates else "",
        "<h3>Coder pairs</h3>" + _pairs_table(overall) if overall.pairs else "",
    ]
    if result.model_coders and overall.pairs:
        out.append("<p class='note'>Rows shaded blue compare the model with a human coder; the others are "
                   "human–human pairs. The model codes as reliably as a human when its rows reach the "
                   "human–human values.</p>")
    if overall.pairs:
        out.append("<h3>Confusion matrices</h3>" + "".join(_confusion(p, overall.categories) for p in overall.pairs))
    if result.items:
        out.append("<h2 id='codes'>Per code</h2>")
        out.append(_chart(list(result.items)))
        head = ("<tr><th class='l'>Code</th><th>Units</th><th>α</th><th>α 95 % CI</th><th class='l'>α reading</th>"
                "<th>κ</th><th>AC1</th><th>BP κ</th><th>% agree</th><th class='l'>Note</th></tr>")
        rows = []
        for item in result.items:
            e = item.estimates
            if not e:
                rows.append(f"<tr><td class='l'>{html.escape(item.name)}</td><td>0</td><td colspan='7'></td>"
                            f"<td class='l'>{html.escape(item.note)}</td></tr>")
                continue
            a = e["krippendorff_alpha"].value
            ci = item.bootstrap.ci if item.bootstrap else (math.nan, math.nan)
            rows.append(
                f"<tr><td class='l'>{html.escape(item.name)}</td><td>{item.n_units}</td>"
                f"<td class='{_verdict_class(a)}'>{_f(a)}</td><td>{_f(ci[0])} – {_f(ci[1])}</td>"
                f"<td class='l'>{krippendorff_verdict(a)}</td><td>{_f(e[headline(item)].value)}</td>"
                f"<td>{_f(e['gwet_ac1'].value)}</td><td>{_f(e['brennan_prediger'].value)}</td>"
                f"<td>{_f(e['percent_agreement'].value)}</td><td class='l'>{html.escape(item.note)}</td></tr>"
            )
        out.append(f"<table id='per-code' class='per-code'>{head}{''.join(rows)}</table>")
        for item in result.items:
            if item.pairs:
                out.append(f"<details><summary>{html.escape(item.name)}: coder pairs and confusion matrices</summary>"
                           + _pairs_table(item) + "".join(_confusion(p, item.categories) for p in item.pairs)
                           + "</details>")
    out.append(f"<h2 id='disagreements'>Disagreements ({len(result.disagreements)})</h2>")
    if result.disagreements:
        shown = result.disagreements[:max_disagreements]
        head = "".join(f"<th class='l'>{html.escape(c)}</th>" for c in result.coders)
        body = "".join(
            f"<tr><td class='l'>{html.escape(d.unit)}</td><td class='l'>{html.escape(d.item)}</td>"
            + "".join(f"<td class='l'>{html.escape(v) or '—'}</td>" for _, v in d.values)
            + f"<td class='l'>{html.escape(d.text[:300])}</td></tr>"
            for d in shown
        )
        out.append(f"<table class='disagreements'><tr><th class='l'>Unit</th><th class='l'>Item</th>{head}"
                   f"<th class='l'>Text</th></tr>{body}</table>")
        if len(result.disagreements) > len(shown):
            out.append(f"<p class='note'>First {len(shown)} shown; all are in disagreements.csv.</p>")
    out.append("</body></html>")
    return "\n".join(out)
