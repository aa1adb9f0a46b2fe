"""Agreement coefficients against published values.

The rating tables and the published values live in ``tests/data/agreement_reference``
(its README.md names each source), so that these tests run in every clone. Sources:
``expected_values.json`` (Krippendorff 2011, Fleiss 1971, statsmodels/SAS, R irr, irrCAC
README) and the 159 expectations of ``afergadis_irrCAC_test_expectations.json`` (Gwet's
coefficients under nine weightings, with pa, pe, standard error and confidence interval).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from pipeline import agreement as A

REF = Path(__file__).resolve().parent / "data" / "agreement_reference"
GWET = REF / "irrcac_gwet"


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [[c.strip() for c in row] for row in csv.reader(fh)][1:]


def _numeric(rows: list[list[str]]) -> list[list[object]]:
    try:
        return [[float(c) if c else None for c in r] for r in rows]
    except ValueError:
        return [[c or None for c in r] for r in rows]


def raw_ratings(path: Path, skip: int, *, coders_in_rows: bool = False) -> tuple[np.ndarray, tuple]:
    """Units × coders codes from a CSV whose first ``skip`` columns are labels."""
    rows = [r[skip:] for r in _rows(path)]
    if coders_in_rows:
        rows = [list(col) for col in zip(*rows)]
    return A.encode_ratings(_numeric(rows))


def table(path: Path) -> np.ndarray:
    return np.array([[float(c) for c in r[1:]] for r in _rows(path)])


def close(got: float, expected: float, decimals: int) -> bool:
    """Equal at the published precision: within half a unit of the last decimal."""
    return abs(got - expected) <= 0.5 * 10.0**-decimals + 1e-12


def decimals_of(value: float) -> int:
    text = repr(float(value))
    return len(text.split(".")[1]) if "." in text and not text.endswith(".0") else 0


# --------------------------------------------------------------------------- expected_values.json

EXPECTED = json.loads((REF / "expected_values.json").read_text(encoding="utf-8"))


def _kripp2011() -> tuple[np.ndarray, tuple]:
    return raw_ratings(REF / "krippendorff2011_4coders_12units.csv", 1, coders_in_rows=True)


@pytest.mark.parametrize("level", A.LEVELS)
def test_krippendorff_2011_alpha(level):
    entry = EXPECTED["krippendorff2011_4coders_12units.csv"]["expected"][f"alpha_{level}"]
    codes, cats = _kripp2011()
    got = A.krippendorff_alpha(codes, level=level, values=cats).value
    assert close(got, entry["value"], 3)


@pytest.mark.parametrize(
    "name", ["fleiss_kappa", "gwet_ac1", "conger_kappa", "brennan_prediger", "percent_agreement"]
)
def test_krippendorff_2011_data_gwet_family(name):
    # irrCAC's cac.raw4raters is the same data with unit 12's value under rater 3,
    # which changes Conger's κ only (expected_values.json, also_on_same_data).
    expected = EXPECTED["krippendorff2011_4coders_12units.csv"]["also_on_same_data"][name]
    codes, _ = raw_ratings(GWET / "cac.raw4raters.csv", 1)
    got = A.COEFFICIENTS[name].compute(codes).value
    assert close(got, expected, decimals_of(expected))


def test_krippendorff_2011_data_in_both_layouts_agree_except_conger():
    a, _ = _kripp2011()
    b, _ = raw_ratings(GWET / "cac.raw4raters.csv", 1)
    for name in ("fleiss_kappa", "gwet_ac1", "brennan_prediger", "percent_agreement", "krippendorff_alpha"):
        assert A.COEFFICIENTS[name].compute(a).value == pytest.approx(A.COEFFICIENTS[name].compute(b).value)
    assert A.conger_kappa(a).value != pytest.approx(A.conger_kappa(b).value, abs=1e-4)


@pytest.mark.parametrize("level", ["nominal", "interval"])
def test_fast_krippendorff_doctest(level):
    expected = EXPECTED["fastkrippendorff_doctest_3coders_15units.csv"]["expected"][f"alpha_{level}"]
    codes, cats = raw_ratings(REF / "fastkrippendorff_doctest_3coders_15units.csv", 1, coders_in_rows=True)
    assert close(A.krippendorff_alpha(codes, level=level, values=cats).value, expected, 6)


def test_fleiss_1971_kappa_and_z():
    entry = EXPECTED["fleiss1971_diagnoses_30x6.csv"]["expected"]
    codes, cats = raw_ratings(REF / "fleiss1971_diagnoses_30x6.csv", 1)
    assert A.category_counts(codes, len(cats)).sum(axis=0).tolist() == entry["column_sums"]
    est = A.fleiss_kappa(codes, n_categories=len(cats))
    assert close(est.value, entry["fleiss_kappa"]["value"], 7)
    assert close(est.z0, entry["fleiss_kappa"]["z"], 5)


def test_wikipedia_fleiss_counts():
    counts = table(REF / "wikipedia_fleiss_10subj_14raters_counts.csv")
    est = A.fleiss_kappa(A.codes_from_counts(counts), n_categories=counts.shape[1])
    assert close(est.value, EXPECTED["wikipedia_fleiss_10subj_14raters_counts.csv"]["expected"]["fleiss_kappa"], 2)


def test_statsmodels_table10_cohen_unweighted():
    e = EXPECTED["statsmodels_table10_3x3.csv"]["expected"]
    est = A.cohen_kappa_table(table(REF / "statsmodels_table10_3x3.csv"))
    assert close(est.value, e["cohen_kappa"], 4)
    assert close(est.se, e["ase"], 4)
    lo, hi = est.interval(method="normal")
    assert close(lo, e["ci95"][0], 4) and close(hi, e["ci95"][1], 4)
    assert close(est.se0, e["ase_h0"], 4)
    assert close(est.z0, e["z"], 4)


def test_statsmodels_table10_cohen_linear_weights():
    e = EXPECTED["statsmodels_table10_3x3.csv"]["expected"]
    est = A.cohen_kappa_table(table(REF / "statsmodels_table10_3x3.csv"), weights="linear", values=[0, 1, 2])
    assert close(est.value, e["weighted_kappa_linear_(weights=[0,1,2])"], 4)
    assert close(est.se, e["weighted_ase"], 4)
    lo, hi = est.interval(method="normal")
    assert close(lo, e["weighted_ci95"][0], 4) and close(hi, e["weighted_ci95"][1], 4)


def toeplitz_weights(distances: list[float]) -> np.ndarray:
    """Agreement weights from a disagreement that depends only on how many levels apart."""
    d = np.asarray(distances, dtype=float)
    lag = np.abs(np.subtract.outer(np.arange(len(d)), np.arange(len(d))))
    return 1 - d[lag] / d.max()


ANXIETY = [
    # (key, coder columns, weights). Named weights use the ranks of the levels used;
    # c(...) vectors are distances by number of levels apart (statsmodels' "toeplitz").
    ("kappa2(raters2,3) unweighted", (1, 2), "identity"),
    ("equal(linear) weights", (1, 2), "linear"),
    ("squared weights", (1, 2), "quadratic"),
    ("weights c(0,0,1,1,2)", (1, 2), [0, 0, 1, 1, 2]),
    ("kappa2(raters1,2) weights c(0,0,0,1,1,1)", (0, 1), [0, 0, 0, 1, 1, 1]),
    ("kappa2(raters1,2) weights c(0,0,1,1,2,2)", (0, 1), [0, 0, 1, 1, 2, 2]),
]


@pytest.mark.parametrize("key,cols,weights", ANXIETY, ids=[a[0] for a in ANXIETY])
def test_irr_anxiety_cohen(key, cols, weights):
    rows = [[r[1 + c] for c in cols] for r in _rows(REF / "irr_anxiety_20x3.csv")]
    # R irr (and statsmodels' test) keep only the levels the two raters used.
    codes, cats = A.encode_ratings(_numeric(rows))
    if not isinstance(weights, str):
        weights = toeplitz_weights(weights)
    est = A.cohen_kappa(codes, n_categories=len(cats), weights=weights)
    expected = EXPECTED["irr_anxiety_20x3.csv"]["expected"][key]
    assert close(est.value, expected, 7)


@pytest.mark.parametrize("case", range(4))
def test_statsmodels_randolph_small_tables(case):
    entry = EXPECTED["statsmodels_randolph_small_tables"]["expected"][case]
    counts = np.array(entry["table"], dtype=float)
    q = counts.shape[1]
    if np.allclose(counts, np.round(counts)):
        codes = A.codes_from_counts(counts)
        fleiss = A.fleiss_kappa(codes, n_categories=q).value
        bp = A.brennan_prediger(codes, n_categories=q).value
    else:
        # Fractional "counts" (6.99 raters) cannot become a codes matrix; the same
        # formulas on the count matrix through the private helper would be a second
        # implementation, so check the closed forms directly.
        n_i = counts.sum(axis=1)
        pa = float(((counts * (counts - 1)).sum(axis=1) / (n_i * (n_i - 1))).mean())
        p = counts.sum(axis=0) / counts.sum()
        fleiss = (pa - p @ p) / (1 - p @ p)
        bp = (pa - 1 / q) / (1 - 1 / q)
    assert close(fleiss, entry["fleiss"], 6)
    assert close(bp, entry["randolph"], 6)


IRRCAC = EXPECTED.get("irrcac_gwet (R package kgwet/irrCAC@7fb7509 README.md)", {})
CONT3_README = [
    ("cohen", A.cohen_kappa_table), ("scott", A.scott_pi_table), ("gwet_ac1", A.gwet_ac1_table),
    ("brennan_prediger", A.brennan_prediger_table), ("krippendorff", A.krippendorff_alpha_table),
    ("percent_agreement", A.percent_agreement_table),
]


@pytest.mark.parametrize("key,fn", CONT3_README, ids=[c[0] for c in CONT3_README])
def test_irrcac_readme_cont3x3(key, fn):
    expected = IRRCAC["cont3x3abstractors.csv"][key]
    assert close(fn(table(GWET / "cont3x3abstractors.csv")).value, expected, decimals_of(expected))


@pytest.mark.parametrize("key,name", [
    ("gwet_ac1", "gwet_ac1"), ("fleiss", "fleiss_kappa"), ("krippendorff", "krippendorff_alpha"),
    ("brennan_prediger", "brennan_prediger"), ("pa", "percent_agreement"),
])
def test_irrcac_readme_distrib_6raters(key, name):
    expected = IRRCAC["distrib.6raters.csv (counts, 15 subj x 6 raters; = first 15 of the 30 Fleiss-1971 subjects)"][key]
    counts = table(GWET / "distrib.6raters.csv")
    got = A.COEFFICIENTS[name].compute(A.codes_from_counts(counts), n_categories=counts.shape[1]).value
    assert close(got, expected, decimals_of(expected))


def test_distrib_6raters_is_first_15_fleiss_subjects():
    codes, cats = raw_ratings(REF / "fleiss1971_diagnoses_30x6.csv", 1)
    counts = table(GWET / "distrib.6raters.csv")
    assert np.array_equal(A.category_counts(codes[:15], len(cats)), counts)


def test_irrcac_readme_dist4cat_ac1():
    counts = table(GWET / "cac.dist4cat.csv")  # first column is the group label
    expected = IRRCAC["cac.dist4cat.csv[,2:4]"]["gwet_ac1"]
    got = A.gwet_ac1(A.codes_from_counts(counts), n_categories=counts.shape[1]).value
    assert close(got, expected, 7)


# --------------------------------------------------------------------------- afergadis/irrCAC: 159 expectations

GWET_TESTS = json.loads((REF / "afergadis_irrCAC_test_expectations.json").read_text(encoding="utf-8"))["tests"]
RAW_FILES = {
    "raw_4raters": ("cac.raw4raters.csv", 1),
    "raw_5observers": ("cac.raw5obser.csv", 1),
    "raw_g1g2": ("cac.raw.g1g2.csv", 2),
    "raw_gender": ("cac.raw.gender.csv", 1),
    "raw_ben_gerry": ("cac.ben.gerry.csv", 2),
}
RAW_FN = {
    "pa2": A.percent_agreement, "fleiss": A.fleiss_kappa, "gwet": A.gwet_ac1, "bp": A.brennan_prediger,
    "conger": A.conger_kappa, "krippendorff": A.krippendorff_alpha,
}
TABLE_FN = {
    "pa2": A.percent_agreement_table, "cohen": A.cohen_kappa_table, "scott": A.scott_pi_table,
    "gwet": A.gwet_ac1_table, "bp": A.brennan_prediger_table, "krippendorff": A.krippendorff_alpha_table,
}
TABLE_FILES = {"cont3x3abstractors": "cont3x3abstractors.csv", "cont4x4diagnosis": "cont4x4diagnosis.csv"}

# Two SEs with asymmetric custom weights differ from the Python port's: we follow the
# irrCAC R formula (Gwet 2014), which reproduces every symmetric case above.
ASYMMETRIC_SE = {
    ("test_cohen_cont4x4diagnosis_custom_weights", "confidence_interval[1]"),
    ("test_scott_cont4x4diagnosis_custom_weights", "confidence_interval[0]"),
    ("test_scott_cont4x4diagnosis_custom_weights", "confidence_interval[1]"),
}


def _gwet_cases():
    for t in GWET_TESTS:
        for key, value in t["expected"].items():
            if key == "p_value":  # conventions differ between R and the port (see notes)
                continue
            marks = [pytest.mark.xfail(strict=True, reason="asymmetric weights: R formula kept")] \
                if (t["test"], key) in ASYMMETRIC_SE else []
            yield pytest.param(t, key, value, id=f"{t['test']}-{key}", marks=marks)


def _compute(t: dict) -> A.Estimate:
    weights = np.array(t["custom_weights"]) if t["weights"] == "custom" else t["weights"]
    if t["dataset"] in RAW_FILES:
        name, skip = RAW_FILES[t["dataset"]]
        codes, cats = raw_ratings(GWET / name, skip)
        values = cats if all(isinstance(c, float) for c in cats) else None
        return RAW_FN[t["method"]](codes, n_categories=len(cats), weights=weights, values=values)
    tab = table(GWET / TABLE_FILES[t["dataset"]])
    if t["dataset"] == "cont4x4diagnosis":
        tab = tab.T  # the port's tests use the transpose of the R package's CSV
    return TABLE_FN[t["method"]](tab, weights=weights)


def test_all_159_expectations_are_collected():
    assert len(GWET_TESTS) == 159
    assert {t["method"] for t in GWET_TESTS} <= set(RAW_FN) | set(TABLE_FN)


@pytest.mark.parametrize("t,key,expected", list(_gwet_cases()))
def test_afergadis_irrcac(t, key, expected):
    est = _compute(t)
    got = {
        "coefficient_value": est.value, "pa": est.pa, "pe": est.pe, "se": est.se,
        "confidence_interval[0]": est.ci[0], "confidence_interval[1]": est.ci[1],
    }[key]
    # Values are published to 3 decimals. Coefficient, pa and pe must round to them;
    # se and interval bounds are derived from already rounded quantities in the
    # source, so one unit in the last place is allowed.
    tolerance = 0.0005 if key in ("coefficient_value", "pa", "pe") else 0.001
    assert math.isfinite(got)
    assert abs(got - expected) <= tolerance + 1e-12, f"{t['test']} {key}: expected {expected}, got {got:.5f}"
