"""Properties every registered coefficient must have, and cross-checks with the
well-kept libraries (``krippendorff``, ``statsmodels``) on random data."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from statsmodels.stats import inter_rater

from pipeline import agreement as A
from pipeline.core.errors import InputError

NAMES = list(A.COEFFICIENTS)


@st.composite
def ratings(draw, min_coders=2, max_coders=5, missing=True):
    q = draw(st.integers(2, 4))
    n_units = draw(st.integers(2, 25))
    n_coders = draw(st.integers(min_coders, max_coders))
    lo = -1 if missing else 0
    cells = draw(st.lists(st.integers(lo, q - 1), min_size=n_units * n_coders, max_size=n_units * n_coders))
    codes = np.array(cells, dtype=np.int64).reshape(n_units, n_coders)
    assume(((codes >= 0).sum(axis=1) >= 2).any())
    return codes, q


def _value(name: str, codes: np.ndarray, q: int) -> float:
    coef = A.COEFFICIENTS[name]
    if coef.two_coders_only and codes.shape[1] != 2:
        codes = codes[:, :2]
        assume(((codes >= 0).sum(axis=1) == 2).any())
    return coef.compute(codes, n_categories=q).value


PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])


@pytest.mark.parametrize("name", NAMES)
@PROPS
@given(data=ratings(), seed=st.integers(0, 2**16))
def test_symmetric_in_coders(name, data, seed):
    codes, q = data
    if A.COEFFICIENTS[name].two_coders_only:
        codes = codes[:, :2]
        assume(((codes >= 0).sum(axis=1) == 2).any())
    before = _value(name, codes, q)
    perm = np.random.default_rng(seed).permutation(codes.shape[1])
    after = _value(name, codes[:, perm], q)
    assert (math.isnan(before) and math.isnan(after)) or after == pytest.approx(before, abs=1e-9)


@pytest.mark.parametrize("name", NAMES)
@PROPS
@given(data=ratings(), seed=st.integers(0, 2**16))
def test_invariant_to_unit_order(name, data, seed):
    codes, q = data
    before = _value(name, codes, q)
    perm = np.random.default_rng(seed).permutation(codes.shape[0])
    after = _value(name, codes[perm], q)
    assert (math.isnan(before) and math.isnan(after)) or after == pytest.approx(before, abs=1e-9)


@pytest.mark.parametrize("name", NAMES)
@PROPS
@given(q=st.integers(2, 5), truth=st.lists(st.integers(0, 4), min_size=2, max_size=30),
       n_coders=st.integers(2, 6), holes=st.integers(0, 2**30))
def test_perfect_agreement_is_one(name, q, truth, n_coders, holes):
    truth = np.array(truth) % q
    assume(len(set(truth.tolist())) >= 2)
    if A.COEFFICIENTS[name].two_coders_only:
        n_coders = 2
    codes = np.repeat(truth[:, None], n_coders, axis=1)
    if n_coders > 2:  # some missing values, every unit keeps two ratings
        rng = np.random.default_rng(holes)
        drop = rng.random(codes.shape) < 0.3
        drop[:, :2] = False
        codes[drop] = -1
    assert _value(name, codes, q) == pytest.approx(1.0)


@pytest.mark.parametrize("name", NAMES)
def test_fewer_than_two_coders_is_a_clear_error(name):
    with pytest.raises(InputError, match="at least 2 coders; found 1"):
        A.COEFFICIENTS[name].compute(np.array([[0], [1], [1]]), n_categories=2)


@pytest.mark.parametrize("name", NAMES)
def test_no_pairable_unit_is_a_clear_error(name):
    codes = np.array([[0, -1], [-1, 1], [1, -1]])
    with pytest.raises(InputError, match="No pairable unit"):
        A.COEFFICIENTS[name].compute(codes, n_categories=2)


def test_more_than_two_coders_for_cohen_is_a_clear_error():
    with pytest.raises(InputError, match="exactly two coders; found 3"):
        A.cohen_kappa(np.array([[0, 0, 1], [1, 1, 1]]), n_categories=2)


def test_registry_labels_and_references_are_filled():
    assert set(NAMES) == {"percent_agreement", "cohen_kappa", "scott_pi", "fleiss_kappa", "conger_kappa",
                          "brennan_prediger", "gwet_ac1", "krippendorff_alpha"}
    for coef in A.COEFFICIENTS.values():
        assert coef.label and coef.reference and coef.chance


@pytest.mark.parametrize("level", A.LEVELS)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=ratings(max_coders=6))
def test_alpha_matches_krippendorff_package(level, data):
    codes, q = data
    values = np.array([1.0, 2.0, 4.0, 7.0])[:q]
    ours = A.krippendorff_alpha(codes, n_categories=q, level=level, values=values).value
    reliability = np.where(codes >= 0, values[np.clip(codes, 0, None)], np.nan).T
    try:
        theirs = krippendorff.alpha(reliability_data=reliability, level_of_measurement=level, value_domain=values)
    except ValueError:  # the package refuses data with a single value
        assume(False)
    assert (math.isnan(ours) and math.isnan(theirs)) or ours == pytest.approx(theirs, abs=1e-9)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=ratings(min_coders=2, max_coders=6, missing=False))
def test_fleiss_matches_statsmodels_on_complete_data(data):
    codes, q = data
    counts = A.category_counts(codes, q)
    theirs = inter_rater.fleiss_kappa(counts, method="fleiss")
    ours = A.fleiss_kappa(codes, n_categories=q).value
    assume(math.isfinite(theirs))
    assert ours == pytest.approx(theirs, abs=1e-9)
    assert A.brennan_prediger(codes, n_categories=q).value == pytest.approx(
        inter_rater.fleiss_kappa(counts, method="randolph"), abs=1e-9)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=ratings(min_coders=2, max_coders=2, missing=False), wt=st.sampled_from(["identity", "linear", "quadratic"]))
def test_cohen_matches_statsmodels(data, wt):
    codes, q = data
    table = A.contingency_table(codes, q)
    theirs = inter_rater.cohens_kappa(table, wt=None if wt == "identity" else wt, return_results=True)
    ours = A.cohen_kappa(codes, n_categories=q, weights=wt)
    assume(math.isfinite(theirs.kappa) and math.isfinite(theirs.std_kappa) and math.isfinite(ours.value))
    assert ours.value == pytest.approx(theirs.kappa, abs=1e-9)
    # Where the true SE is 0 both sides take the square root of rounding noise (~1e-16),
    # which leaves up to ~1e-8; hence 1e-7 here, not 1e-9.
    assert ours.se == pytest.approx(theirs.std_kappa, abs=1e-7)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=ratings(min_coders=2, max_coders=2, missing=False))
def test_two_coder_identities(data):
    codes, q = data
    cohen = A.cohen_kappa(codes, n_categories=q).value
    assume(math.isfinite(cohen))
    assert A.conger_kappa(codes, n_categories=q).value == pytest.approx(cohen, abs=1e-9)
    assert A.fleiss_kappa(codes, n_categories=q).value == pytest.approx(A.scott_pi(codes, n_categories=q).value, abs=1e-9)


def test_gwet_ordinal_weights_are_not_krippendorff_ordinal():
    data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
            [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]]
    codes, cats = A.encode_ratings(list(zip(*data)))
    assert round(A.krippendorff_alpha(codes, level="ordinal").value, 3) == 0.815
    assert round(A.krippendorff_alpha(codes, weights="ordinal").value, 3) == 0.834


def test_bootstrap_is_deterministic_and_brackets_alpha():
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 4, 300)
    codes = np.repeat(truth[:, None], 4, axis=1)
    noise = rng.random(codes.shape) < 0.2
    codes[noise] = rng.integers(0, 4, noise.sum())
    codes[rng.random(codes.shape) < 0.1] = -1
    for level in A.LEVELS:
        a = A.bootstrap_alpha(codes, n_categories=4, level=level, n_boot=300, seed=7)
        b = A.bootstrap_alpha(codes, n_categories=4, level=level, n_boot=300, seed=7)
        assert np.array_equal(a.samples, b.samples)
        assert a.alpha == pytest.approx(A.krippendorff_alpha(codes, n_categories=4, level=level).value)
        assert a.ci[0] < a.alpha < a.ci[1]
        assert a.ci[1] - a.ci[0] < 0.2
        probs = dict(a.p_below)
        assert probs[A.ALPHA_TENTATIVE] <= probs[A.ALPHA_RELIABLE]


def test_bootstrap_probability_below_minimum_reflects_the_data():
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 2, 200)
    good = np.repeat(truth[:, None], 3, axis=1)
    flip = rng.random(good.shape) < 0.03
    good[flip] = 1 - good[flip]
    boot = A.bootstrap_alpha(good, n_categories=2, n_boot=200, minimums=(0.5, 0.999))
    assert dict(boot.p_below)[0.5] == 0.0
    assert dict(boot.p_below)[0.999] == 1.0


def test_one_category_only_gives_nan_kappa_not_an_error():
    codes = np.zeros((5, 3), dtype=int)
    assert math.isnan(A.fleiss_kappa(codes, n_categories=2).value)
    assert A.percent_agreement(codes, n_categories=2).value == 1.0


def test_encode_ratings_rejects_ragged_rows_and_unknown_values():
    with pytest.raises(InputError, match="same number of coders"):
        A.encode_ratings([["a", "b"], ["a"]])
    with pytest.raises(InputError, match="not among the categories"):
        A.encode_ratings([["a", "x"]], categories=["a", "b"])


def test_landis_koch_and_verdict():
    assert A.landis_koch(0.85) == "almost perfect"
    assert A.landis_koch(-0.1) == "poor"
    assert A.krippendorff_verdict(0.80) == "reliable"
    assert A.krippendorff_verdict(0.70) == "tentative"
    assert A.krippendorff_verdict(0.5) == "unreliable"


def test_alpha_on_large_data_with_missing_values_is_fast():
    # Not a benchmark (see benchmarks/agreement_bench.py); guards against a quadratic
    # algorithm sneaking in: 10 coders × 20,000 units must take well under a few seconds.
    import time

    rng = np.random.default_rng(0)
    codes = rng.integers(0, 5, (20_000, 10))
    codes[rng.random(codes.shape) < 0.2] = -1
    start = time.perf_counter()
    A.krippendorff_alpha(codes, n_categories=5)
    assert time.perf_counter() - start < 5


def test_doctests():
    import doctest

    for module, examples in ((A.ratings, 2), (A.coefficients, 5), (A.two_coders, 2)):
        failures, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert tried >= examples and failures == 0, f"{module.__name__}: {failures} of {tried} doctests failed"
