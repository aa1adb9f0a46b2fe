"""Agreement reports: a self-contained HTML page for a methods section (German or
English), the figures as CSV and JSON, and the disagreement list for the consensus
discussion.

The HTML has inline CSS and an inline SVG chart and loads nothing from anywhere, so it
can be mailed, archived or opened offline. Its order follows what a reviewer asks:
what was compared (date, inputs with SHA-256, coders, model and its training
documents, the unit of analysis), human–human agreement, then the model against each
human (in-sample and out-of-sample kept apart), unitizing α for free spans, per code
figures with intervals, confusion matrices, the disagreements in the transcript's own
words, and a paragraph to cite with the run's figures. Its markup and texts are package
data (``pipeline/reports/templates``); :mod:`pipeline.reports.agreement_view` prepares
what it shows.

Every coefficient has one interval, by one method
(:data:`pipeline.agreement.registry.INTERVAL_METHODS`, taken from
:meth:`ItemAgreement.interval`), and the page, ``figures.csv`` and the JSON give the
same bounds.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from pipeline.agreement.assess import AgreementResult, ItemAgreement
from pipeline.agreement.registry import INTERVAL_METHODS
from pipeline.core.io import atomic_write_csv, atomic_write_text
from pipeline.reports.agreement_view import headline, interval_method, note_text, report_context  # noqa: F401
from pipeline.reports.templating import render, texts

REPORT_FILES = ("report.html", "figures.csv", "pairs.csv", "disagreements.csv")


def _f(x: float | None, digits: int = 3) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


# --------------------------------------------------------------------------- JSON


def _intervals_json(item: ItemAgreement) -> dict:
    """``ci`` (coefficient -> [low, high], None where undefined) and ``ci_method``."""
    return {
        "ci": {name: ([_num(x) for x in item.interval(name)] if math.isfinite(item.interval(name)[0]) else None)
               for name in item.estimates},
        "ci_method": {name: interval_method(item, name, "en") for name in item.estimates},
    }


def _item_json(item: ItemAgreement) -> dict:
    return {
        **{name: _num(est.value) for name, est in item.estimates.items()},
        "n_units": item.n_units,
        "n_rated": item.n_rated,
        "units_entered": {name: est.n_units for name, est in item.estimates.items()},
        **_intervals_json(item),
        "alpha_ci": _intervals_json(item)["ci"].get("krippendorff_alpha"),
        "note": item.note,
        "nan_reasons": dict(item.reasons),
    }


def result_to_json(result: AgreementResult) -> dict:
    """The figures as a JSON-ready dict.

    The top level holds the coefficients of the main item as floats (``None`` where
    undefined) under their registry names: human–human where there are two or more
    human coders. A table input adds ``n_rated``, ``units_entered``, ``weights`` and
    ``nan_reasons``. ``ci`` and ``ci_method`` give each coefficient's one 95 % interval
    and its method (the same bounds as the HTML and figures.csv), for the main item and
    for every item below it (``alpha_ci`` repeats α's). Coded inputs add ``unit``, ``rule``, ``coders``, ``codes`` (per code:
    coefficients, ``n_units``, ``alpha_ci``, and ``unitizing_alpha`` for span input),
    ``pairs``, ``pooled_with_model``, ``model_vs_human`` (each with ``sample``:
    in-sample / out-of-sample / unknown) and ``model_training_documents``; span input
    adds ``unitizing_alpha`` (all codes) and ``unitizing``.
    """
    overall = result.overall
    out: dict = {name: _num(est.value) for name, est in overall.estimates.items()}
    out.update(_intervals_json(overall))
    if result.unit == "table":
        out["n_rated"] = overall.n_rated
        out["n_units"] = overall.n_units
        out["units_entered"] = {name: est.n_units for name, est in overall.estimates.items()}
        out["weights"] = overall.weights
        out["nan_reasons"] = dict(overall.reasons)
        return out
    out["unit"] = result.unit
    out["rule"] = result.rule
    out["coders"] = list(result.coders)
    out["human_coders"] = list(result.human_coders)
    out["model_coders"] = list(result.model_coders)
    out["main_figures"] = "human-human" if len(result.human_coders) >= 2 else "model-human (one human coder)"
    out["n_units"] = overall.n_units
    out["nan_reasons"] = dict(overall.reasons)
    out["codes"] = {item.name: _item_json(item) for item in result.items}
    out["pairs"] = [
        {"coder_a": p.coder_a, "coder_b": p.coder_b, "n_units": p.n_units,
         **{name: _num(est.value) for name, est in p.estimates.items()}}
        for p in overall.pairs
    ]
    if result.pooled is not None:
        out["pooled_with_model"] = {"label": "pooled over all coders, model included", **_item_json(result.pooled)}
    out["model_training_documents"] = {
        m: (list(docs) if docs is not None else None) for m, docs in result.model_training.items()}
    out["model_vs_human"] = [
        {"model": c.model, "human": c.human, "sample": c.sample, "documents": list(c.documents),
         **_item_json(c.overall), "codes": {i.name: _item_json(i) for i in c.items}}
        for c in result.model_vs_human
    ]
    out["notes"] = [note_text(n, "en") for n in result.notes]
    if result.unitizing is not None:
        u = result.unitizing
        out["unitizing_alpha"] = _num(u.overall.alpha)
        out["unitizing"] = {
            "observed": _num(u.overall.observed), "expected": _num(u.overall.expected),
            "binary_alpha": _num(u.binary.alpha), "documents": list(u.documents), "left_out": list(u.left_out),
            "length": u.overall.length, "rule": u.rule,
        }
        for code, a in u.codes.items():
            entry = out["codes"].setdefault(code, {})
            entry["unitizing_alpha"] = _num(a.alpha)
            entry["unitizing_observed"] = _num(a.observed)
            entry["unitizing_expected"] = _num(a.expected)
            entry["unitizing_spans"] = a.n_spans
            if a.note:
                entry["unitizing_note"] = a.note
    return out


# --------------------------------------------------------------------------- CSV


def _figure_rows(result: AgreementResult):
    items = [result.overall, *result.items]
    if result.pooled is not None:
        items.append(result.pooled)
    for c in result.model_vs_human:
        items += [c.overall, *(replace(i, name=f"{i.name} [{c.model} vs {c.human}, {c.sample}]") for i in c.items)]
    for item in items:
        for name, est in item.estimates.items():
            lo, hi = item.interval(name)
            yield [item.name, "all coders", name, _f(est.value, 6), _f(item.standard_error(name), 6), _f(lo, 6),
                   _f(hi, 6), _f(est.pa, 6), _f(est.pe, 6), est.n_units, item.level,
                   interval_method(item, name, "en")]
        for p in item.pairs:
            for name, est in p.estimates.items():
                # No bootstrap is drawn per pair: α of a pair has no interval rather than a second method's.
                boot = INTERVAL_METHODS.get(name) == "bootstrap"
                lo, hi = (math.nan, math.nan) if boot else est.ci
                yield [item.name, f"{p.coder_a} vs {p.coder_b}", name, _f(est.value, 6), "" if boot else _f(est.se, 6),
                       _f(lo, 6), _f(hi, 6), _f(est.pa, 6), _f(est.pe, 6), p.n_units, item.level,
                       texts("en")["ci"]["pair_alpha"] if boot else texts("en")["ci"]["t"]]
    if result.unitizing is not None:
        u = result.unitizing
        for a in (u.overall, *u.codes.values(), u.binary):
            yield [a.code, "all coders", "unitizing_alpha", _f(a.alpha, 6), "", "", "", _f(a.observed, 6),
                   _f(a.expected, 6), a.n_spans, "unitizing", ""]


def write_report(result: AgreementResult, directory: str | Path, *, title: str | None = None,
                 lang: str = "de") -> list[Path]:
    """Write ``report.html``, ``figures.csv``, ``pairs.csv`` and ``disagreements.csv``.

    Returns the paths written.
    """
    directory = Path(directory)
    paths = [directory / name for name in REPORT_FILES]
    atomic_write_text(paths[0], render_html(result, title=title, lang=lang))
    atomic_write_csv(paths[1], ["item", "coders", "coefficient", "value", "se", "ci_low", "ci_high", "pa", "pe",
                                "n_units", "level", "ci_method"], _figure_rows(result))
    atomic_write_csv(
        paths[2], ["item", "coder_a", "coder_b", "involves_model", "n_units", *[f"{c}" for c in _pair_keys(result)]],
        ([item.name, p.coder_a, p.coder_b, str(p.involves_model).lower(), p.n_units,
          *[_f(p.estimates[k].value, 6) if k in p.estimates else "" for k in _pair_keys(result)]]
         for item in _all_items(result) for p in item.pairs),
    )
    atomic_write_csv(
        paths[3], ["unit", "document", "start", "end", "item", *result.coders, "text"],
        ([d.unit, d.document, d.start if d.start >= 0 else "", d.end if d.end >= 0 else "", d.item,
          *[v for _, v in d.values], d.text] for d in result.disagreements),
    )
    return paths


def _all_items(result: AgreementResult) -> list[ItemAgreement]:
    items = [result.overall, *result.items]
    if result.pooled is not None:
        items.append(result.pooled)
    for c in result.model_vs_human:
        items.append(c.overall)
    return items


def _pair_keys(result: AgreementResult) -> list[str]:
    keys: list[str] = []
    for item in _all_items(result):
        for p in item.pairs:
            keys += [k for k in p.estimates if k not in keys]
    return keys


# --------------------------------------------------------------------------- HTML


def render_html(result: AgreementResult, *, title: str | None = None, lang: str = "de",
                max_disagreements: int = 500, created: datetime | None = None) -> str:
    """The report as one self-contained HTML string, in German (``"de"``) or English."""
    from pipeline import __version__

    texts(lang)  # an unknown language is an InputError naming the choices
    context = report_context(result, lang=lang, title=title, created=created or datetime.now(timezone.utc),
                             version=__version__, max_disagreements=max_disagreements)
    return render("report.html.j2", css="report.css", **context)
