"""Benchmark: Krippendorff's α for 10 coders × 100,000 units with missing values, and
unitizing αu for 3 coders on 100 documents of 20,000 characters with 14 codes.

Run ``python benchmarks/agreement_bench.py``. Prints the median wall time of α (nominal
and interval), of the other coefficients, and of a 1,000-resample bootstrap, next to the
``krippendorff`` package on the same data for comparison, then the time of αu.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from pipeline import agreement as A
from pipeline.agreement.unitizing import Span, unitizing_alpha

N_UNITS, N_CODERS, N_CATEGORIES, P_MISSING = 100_000, 10, 5, 0.2


def data(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, N_CATEGORIES, N_UNITS)
    codes = np.repeat(truth[:, None], N_CODERS, axis=1)
    noise = rng.random(codes.shape) < 0.25
    codes[noise] = rng.integers(0, N_CATEGORIES, int(noise.sum()))
    codes[rng.random(codes.shape) < P_MISSING] = A.MISSING
    return codes


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


U_CODERS, U_DOCS, U_CHARS, U_CODES, U_SPANS = 3, 100, 20_000, 14, 40


def span_data(seed: int = 0) -> tuple[list[Span], dict[str, tuple[int, int]]]:
    """Every coder marks the same spans, each boundary moved by up to 20 characters, and drops
    or adds a span now and then."""
    rng = np.random.default_rng(seed)
    spans = []
    for d in range(U_DOCS):
        starts = np.sort(rng.choice(U_CHARS - 400, U_SPANS, replace=False))
        codes = rng.integers(0, U_CODES, U_SPANS)
        lengths = rng.integers(50, 350, U_SPANS)
        for g in range(U_CODERS):
            for s, c, n in zip(starts, codes, lengths):
                if rng.random() < 0.1:
                    continue
                a = int(max(0, s + rng.integers(-20, 21)))
                spans.append(Span(f"d{d}", f"c{g}", f"C{c}", a, int(min(U_CHARS, a + n + rng.integers(-20, 21)))))
    return spans, {f"d{d}": (0, U_CHARS) for d in range(U_DOCS)}


def main() -> None:
    spans, continua = span_data()
    t, res = timed(lambda: unitizing_alpha(spans, continua), repeat=3)
    print(f"unitizing_alpha: {U_CODERS} coders × {U_DOCS} documents × {U_CHARS:,} characters, {U_CODES} codes, "
          f"{len(spans):,} spans: {t:.3f} s  (αu = {res.overall.alpha:.4f})")
    codes = data()
    print(f"{N_CODERS} coders × {N_UNITS:,} units, {N_CATEGORIES} categories, {P_MISSING:.0%} missing")
    for level in ("nominal", "interval"):
        t, est = timed(lambda: A.krippendorff_alpha(codes, n_categories=N_CATEGORIES, level=level))
        print(f"krippendorff_alpha ({level}): {t:.3f} s  (α = {est.value:.4f}, SE = {est.se:.4f})")
    for name in ("percent_agreement", "fleiss_kappa", "conger_kappa", "brennan_prediger", "gwet_ac1"):
        t, est = timed(lambda: A.COEFFICIENTS[name].compute(codes, n_categories=N_CATEGORIES), repeat=3)
        print(f"{name}: {t:.3f} s  (value = {est.value:.4f})")
    t, boot = timed(lambda: A.bootstrap_alpha(codes, n_categories=N_CATEGORIES, n_boot=1000), repeat=1)
    print(f"bootstrap_alpha (nominal, 1000 resamples): {t:.2f} s  (95 % CI {boot.ci[0]:.4f}–{boot.ci[1]:.4f})")
    try:
        import krippendorff
    except ImportError:
        return
    reliability = np.where(codes >= 0, codes, np.nan).T.astype(float)
    t, value = timed(lambda: krippendorff.alpha(reliability_data=reliability, level_of_measurement="nominal",
                                                value_domain=list(range(N_CATEGORIES))), repeat=3)
    print(f"krippendorff package (nominal), same data: {t:.3f} s  (α = {value:.4f})")


if __name__ == "__main__":
    main()
