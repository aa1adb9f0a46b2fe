"""``autocode agreement`` computes with the library, exactly: published values through the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import pipeline.cli.agreement  # noqa: F401  (registers the command)
from pipeline import agreement as A
from pipeline.cli._app import app

RAW4 = Path(__file__).resolve().parent / "data" / "agreement_reference" / "irrcac_gwet" / "cac.raw4raters.csv"


def run_table(tmp_path, *extra) -> tuple[dict, str]:
    out = tmp_path / "figures.json"
    result = CliRunner().invoke(app, ["agreement", "--table", str(RAW4), "--json", str(out), "--bootstrap", "0",
                                      *extra])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8")), result.output


def library_codes():
    with RAW4.open(encoding="utf-8") as fh:
        rows = [r[1:] for r in list(csv.reader(fh))[1:]]
    return A.encode_ratings([[float(c) if c else None for c in r] for r in rows])


def test_table_reproduces_irrcac_on_krippendorffs_data(tmp_path):
    """Krippendorff's 4 × 12 data in Gwet's layout; irrCAC's published values. Units rated by
    one coder enter the category proportions, as in irrCAC."""
    figures, output = run_table(tmp_path)
    assert figures["fleiss_kappa"] == pytest.approx(0.76117, abs=5e-6)
    assert figures["gwet_ac1"] == pytest.approx(0.77544, abs=5e-6)
    assert figures["conger_kappa"] == pytest.approx(0.76282, abs=5e-6)
    assert figures["brennan_prediger"] == pytest.approx(0.77273, abs=5e-6)
    assert figures["percent_agreement"] == pytest.approx(0.8181818, abs=5e-8)
    assert figures["krippendorff_alpha"] == pytest.approx(0.743, abs=5e-4)
    # Unit 12 (one rating) counts for the κ family, not for α.
    assert figures["n_rated"] == 12 and figures["n_units"] == 11
    assert figures["units_entered"]["fleiss_kappa"] == 12
    assert figures["units_entered"]["krippendorff_alpha"] == 11
    assert "units entering each coefficient" in output


def test_table_figures_equal_the_library_functions(tmp_path):
    figures, _ = run_table(tmp_path)
    codes, _ = library_codes()
    for name in ("fleiss_kappa", "gwet_ac1", "conger_kappa", "brennan_prediger", "percent_agreement"):
        assert figures[name] == pytest.approx(A.COEFFICIENTS[name].compute(codes).value, abs=1e-12), name


def test_weights_reach_weighted_kappa_and_ac2(tmp_path):
    """Quadratic weights: irrCAC's values (3 decimals) and the library's exactly."""
    figures, _ = run_table(tmp_path, "--weights", "quadratic")
    assert figures["weights"] == "quadratic"
    published = {"gwet_ac1": 0.914, "fleiss_kappa": 0.865, "conger_kappa": 0.858, "brennan_prediger": 0.902,
                 "percent_agreement": 0.975}
    for name, value in published.items():
        assert figures[name] == pytest.approx(value, abs=5e-4), name
    codes, cats = library_codes()
    ac2 = A.gwet_ac1(codes, weights="quadratic", values=[float(c) for c in cats]).value
    assert figures["gwet_ac1"] == pytest.approx(ac2, abs=1e-12)
    unweighted, _ = run_table(tmp_path)
    assert figures["gwet_ac1"] != pytest.approx(unweighted["gwet_ac1"], abs=1e-3)


def test_weights_on_category_names_are_refused(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("unit,A,B\nu1,gut,gut\nu2,gut,schlecht\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["agreement", "--table", str(table), "--json", str(tmp_path / "f.json"),
                                      "--weights", "linear"])
    assert result.exit_code == 1
    assert "needs numbers, found 'gut'" in result.output


def test_nan_comes_with_its_reason(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("unit,A,B\nu1,ja,ja\nu2,ja,ja\nu3,ja,\n", encoding="utf-8")
    out = tmp_path / "f.json"
    result = CliRunner().invoke(app, ["agreement", "--table", str(table), "--json", str(out), "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["krippendorff_alpha"] is None
    assert "one category only" in figures["nan_reasons"]["krippendorff_alpha"]
    assert "krippendorff_alpha: undefined – one category only" in result.output
