"""Krippendorff's αu for free spans: the published example through the library and the CLI."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

import pipeline.cli.agreement  # noqa: F401  (registers the command)
from pipeline.agreement.unitizing import Span, category_unitizing_alpha, unitizing_alpha
from pipeline.cli._app import app

# Krippendorff (2004: 254): two observers on the continuum 150–450.
K2004 = {
    "1": [("c", 225, 295), ("c", 370, 400), ("k", 180, 240), ("k", 300, 350)],
    "2": [("c", 220, 300), ("c", 355, 375), ("c", 400, 420), ("k", 180, 240), ("k", 300, 350)],
}


def k2004_spans(shift: int = 0) -> list[Span]:
    return [Span("doc", coder, code, s - shift, e - shift) for coder, items in K2004.items() for code, s, e in items]


def test_krippendorff_2004_example():
    result = unitizing_alpha(k2004_spans(), {"doc": (150, 450)})
    c, k = result.codes["c"], result.codes["k"]
    assert c.observed == pytest.approx(0.0144, abs=5e-5)
    assert c.expected == pytest.approx(0.0532, abs=5e-5)
    assert c.alpha == pytest.approx(0.7286, abs=5e-5)
    assert k.observed == 0.0 and k.alpha == 1.0
    assert result.overall.alpha == pytest.approx(0.859, abs=1e-3)
    assert result.overall.length == 300 and result.overall.n_coders == 2


def test_shift_coder_order_and_identity():
    base = unitizing_alpha(k2004_spans(), {"doc": (150, 450)})
    shifted = unitizing_alpha(k2004_spans(150), {"doc": (0, 300)})
    assert shifted.overall.alpha == pytest.approx(base.overall.alpha, abs=1e-12)
    swapped = [Span(s.document, {"1": "2", "2": "1"}[s.coder], s.code, s.start, s.end) for s in k2004_spans()]
    assert unitizing_alpha(swapped, {"doc": (150, 450)}).codes["c"].alpha == pytest.approx(base.codes["c"].alpha)
    same = {"A": {"d": [(10, 40), (60, 90)]}, "B": {"d": [(10, 40), (60, 90)]}}
    assert category_unitizing_alpha(same, {"d": (0, 100)}).alpha == 1.0


def test_disjoint_spans_are_worse_than_chance_and_unused_code_is_nan_with_reason():
    apart = {"A": {"d": [(0, 20)]}, "B": {"d": [(60, 80)]}}
    assert category_unitizing_alpha(apart, {"d": (0, 100)}).alpha < 0
    unused = category_unitizing_alpha({"A": {}, "B": {}}, {"d": (0, 100)}, code="x")
    assert math.isnan(unused.alpha) and "no variation" in unused.note


def test_a_document_one_coder_did_not_code_is_left_out():
    spans = k2004_spans() + [Span("other", "1", "c", 0, 10)]
    result = unitizing_alpha(spans, {"doc": (150, 450), "other": (0, 50)})
    assert result.documents == ("doc",) and result.left_out == ("other",)
    assert result.overall.alpha == pytest.approx(unitizing_alpha(k2004_spans(), {"doc": (150, 450)}).overall.alpha)


def write_k2004_span_files(tmp_path):
    """The example as two coders' span files on a 300-character document (offsets - 150)."""
    folder = tmp_path / "transcripts"
    folder.mkdir()
    (folder / "doc.txt").write_text("x" * 300, encoding="utf-8")
    files = []
    for coder, items in K2004.items():
        path = tmp_path / f"coder{coder}.jsonl"
        path.write_text("".join(json.dumps({"document": "doc", "start": s - 150, "end": e - 150, "code": code,
                                            "coder": coder}) + "\n" for code, s, e in items), encoding="utf-8")
        files.append(path)
    return files


def test_cli_span_reproduces_krippendorff_2004(tmp_path):
    files = write_k2004_span_files(tmp_path)
    out, report = tmp_path / "fig.json", tmp_path / "report"
    result = CliRunner().invoke(app, ["agreement", *map(str, files), "--unit", "span", "--json", str(out),
                                      "--report", str(report), "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["unitizing_alpha"] == pytest.approx(0.859, abs=1e-3)
    assert figures["codes"]["c"]["unitizing_alpha"] == pytest.approx(0.7286, abs=5e-5)
    assert figures["codes"]["k"]["unitizing_alpha"] == 1.0
    library = unitizing_alpha(k2004_spans(150), {"doc": (0, 300)})
    assert figures["unitizing_alpha"] == pytest.approx(library.overall.alpha, abs=1e-12)
    assert "unitizing_alpha\t0.8587" in result.output
    # The overlap-matching view is secondary and its collapse is explained, on stderr and in the report.
    assert "never a unit by construction" in result.output
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "id='unitizing-table'" in html and "0,7286" in html
    assert "data-note='span_collapse'" in html
