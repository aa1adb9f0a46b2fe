"""Benchmark: Krippendorff's α for 10 coders × 100,000 units with missing values.

Run ``python benchmarks/agreement_bench.py``. Prints the median wall time of α (nominal
and interval), of the other coefficients, and of a 1,000-resample bootstrap, next to the
``krippendorff`` package on the same data for comparison.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from pipeline import agreement as A

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


def main() -> None:
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
