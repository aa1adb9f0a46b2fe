"""What the agreement report shows, in words and formatted numbers, for its template.

:func:`report_context` turns an :class:`~pipeline.agreement.assess.AgreementResult`
into plain dicts and lists: every number formatted for the page's language (decimal
comma in German), every sentence from the language's text table, every interval from
:meth:`~pipeline.agreement.assess.ItemAgreement.interval` (so the page, ``figures.csv``
and the JSON show the same bounds). ``report.html.j2`` only lays them out.
"""

from __future__ import annotations

import math
from datetime import datetime

from pipeline.agreement.assess import AgreementResult, ItemAgreement, ModelComparison, PairResult
from pipeline.agreement.ratings import ALPHA_RELIABLE, ALPHA_TENTATIVE, krippendorff_verdict, landis_koch
from pipeline.agreement.registry import COEFFICIENTS, INTERVAL_METHODS
from pipeline.reports.templating import number, share, texts, word

#: Every work the report cites; the citation paragraph lists those it names.
REFERENCES = {
    "brennan1981": "Brennan, R. L., & Prediger, D. J. (1981). Coefficient kappa: Some uses, misuses, and "
                   "alternatives. Educational and Psychological Measurement, 41, 687–699.",
    "cohen1960": "Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and Psychological "
                 "Measurement, 20, 37–46.",
    "conger1980": "Conger, A. J. (1980). Integration and generalization of kappas for multiple raters. "
                  "Psychological Bulletin, 88, 322–328.",
    "efron1993": "Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman & Hall.",
    "fleiss1969": "Fleiss, J. L., Cohen, J., & Everitt, B. S. (1969). Large sample standard errors of kappa and "
                  "weighted kappa. Psychological Bulletin, 72, 323–327.",
    "fleiss1971": "Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological "
                  "Bulletin, 76, 378–382.",
    "gwet2008": "Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence of high "
                "agreement. British Journal of Mathematical and Statistical Psychology, 61, 29–48.",
    "gwet2014": "Gwet, K. L. (2014). Handbook of Inter-Rater Reliability (4th ed.). Advanced Analytics.",
    "hayes2007": "Hayes, A. F., & Krippendorff, K. (2007). Answering the call for a standard reliability measure "
                 "for coding data. Communication Methods and Measures, 1, 77–89.",
    "krippendorff1995": "Krippendorff, K. (1995). On the reliability of unitizing continuous data. Sociological "
                        "Methodology, 25, 47–76.",
    "krippendorff2004": "Krippendorff, K. (2004). Content Analysis: An Introduction to Its Methodology (2nd ed.). "
                        "Sage.",
    "krippendorff2011": "Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg School for "
                        "Communication, University of Pennsylvania.",
    "krippendorff2016": "Krippendorff, K., Mathet, Y., Bouvry, S., & Widlöcher, A. (2016). On the reliability of "
                        "unitizing textual continua: Further developments. Quality & Quantity, 50, 2347–2364.",
    "landis1977": "Landis, J. R., & Koch, G. G. (1977). The measurement of observer agreement for categorical data. "
                  "Biometrics, 33, 159–174.",
    "scott1955": "Scott, W. A. (1955). Reliability of content analysis: The case of nominal scale coding. Public "
                 "Opinion Quarterly, 19, 321–325.",
}
#: Works cited in the paragraph for each figure it names, and the in-text citation of a κ.
CITED_FOR = {
    "krippendorff_alpha": ("krippendorff2011", "hayes2007", "efron1993"),
    "cohen_kappa": ("cohen1960", "fleiss1969", "gwet2014"),
    "fleiss_kappa": ("fleiss1971", "gwet2014"),
    "unitizing": ("krippendorff1995", "krippendorff2016"),
    "thresholds": ("krippendorff2004",),
}
#: In-text citations (the same in both languages).
IN_TEXT = {"cohen_kappa": "Cohen, 1960; Fleiss, Cohen & Everitt, 1969; Gwet, 2014",
           "fleiss_kappa": "Fleiss, 1971; Gwet, 2014",
           "krippendorff_alpha": "Krippendorff, 2011; Hayes & Krippendorff, 2007; Efron & Tibshirani, 1993",
           "alpha_none": "Krippendorff, 2011",
           "unitizing": "Krippendorff, 1995; Krippendorff, Mathet, Bouvry & Widlöcher, 2016",
           "thresholds": "Krippendorff (2004)"}
#: Works behind the other coefficients and readings shown in the tables.
TABLE_REFS = ("brennan1981", "conger1980", "gwet2008", "gwet2014", "landis1977", "scott1955", "krippendorff2004")
SAMPLE_ORDER = {"out-of-sample": 0, "unknown": 1, "in-sample": 2}
WARNING_NOTES = ("all_in_sample", "some_in_sample", "training_unknown", "one_human", "span_collapse")


def headline(item: ItemAgreement) -> str:
    """The κ shown beside α: Cohen's for two coders, Fleiss' otherwise."""
    return "cohen_kappa" if "cohen_kappa" in item.estimates else "fleiss_kappa"


def note_text(note: tuple[str, dict], lang: str = "en") -> str:
    """A library note ``(key, values)`` in words."""
    key, values = note
    tx = texts(lang)
    values = dict(values)
    if "reason" in values:
        values["reason"] = word(tx["reasons"], values["reason"])
    if "item" in values:
        values["item"] = word(tx["names"], values["item"])
    if "coefficient" in values and lang != "en":  # English keeps the registry names of JSON and stderr
        values["coefficient"] = ", ".join(word(tx["coefficients"], c) for c in values["coefficient"].split(", "))
    return tx["notes"][key].format(**values)


def interval_method(item: ItemAgreement, name: str, lang: str, *, short: bool = False) -> str:
    """The method of ``item.interval(name)`` in words."""
    ci = texts(lang)["ci"]
    if INTERVAL_METHODS.get(name) == "bootstrap":
        if item.bootstrap is None:
            return ci["none_short" if short else "none"]
        return ci["bootstrap_short" if short else "bootstrap"].format(n=item.bootstrap.n_boot, seed=item.bootstrap.seed)
    return ci["t_short" if short else "t"]


def _verdict_class(alpha: float) -> str:
    return {"reliable": "ok", "tentative": "tent", "unreliable": "bad"}.get(krippendorff_verdict(alpha), "")


class _View:
    """Formatting in one language; the methods return what one part of the page shows."""

    def __init__(self, result: AgreementResult, lang: str):
        self.result, self.lang = result, lang
        self.tx = texts(lang)
        self.t = self.tx["report"]

    def n(self, x: float | None, digits: int = 3) -> str:
        return number(x, self.lang, digits)

    def name(self, item_name: str) -> str:
        if item_name.endswith(" (frequency)"):  # the second item per code of --unit document
            return f"{item_name.removesuffix(' (frequency)')} ({word(self.tx['names'], 'frequency')})"
        return word(self.tx["names"], item_name)

    def label(self, coefficient: str) -> str:
        return self.tx["coefficients"].get(coefficient) or COEFFICIENTS[coefficient].label

    def reason(self, text: str) -> str:
        return "; ".join(word(self.tx["reasons"], part) for part in text.split("; ")) if text else ""

    def category(self, value) -> str:
        return self.t.get(str(value), str(value))

    def estimates(self, item: ItemAgreement) -> list[dict]:
        rows = []
        for name, est in item.estimates.items():
            lo, hi = item.interval(name)
            if name == "krippendorff_alpha":
                reading = self.t.get(krippendorff_verdict(est.value), "")
                if item.bootstrap is not None:
                    probs = ", ".join(self.t["p_below"].format(min=self.n(m), p=self.n(p))
                                      for m, p in item.bootstrap.p_below)
                    reading = f"{reading}; {probs}" if reading else probs
            else:
                reading = self.t.get(landis_koch(est.value), "") if name != "percent_agreement" else ""
            rows.append({"label": self.label(name), "value": self.n(est.value),
                         "nan_title": self.reason(item.reasons.get(name, "")), "se": self.n(item.standard_error(name)),
                         "lo": self.n(lo), "hi": self.n(hi), "n": est.n_units, "reading": reading,
                         "method": interval_method(item, name, self.lang, short=True)})
        return rows

    def pairs(self, item: ItemAgreement) -> dict | None:
        if not item.pairs:
            return None
        keys = list(item.pairs[0].estimates)
        pairs = sorted(item.pairs, key=lambda p: (p.involves_model, p.coder_a, p.coder_b))
        return {"labels": [self.label(k) for k in keys],
                "rows": [{"cls": "model" if p.involves_model else "human", "a": p.coder_a, "b": p.coder_b,
                          "n": p.n_units, "values": [self.n(p.estimates[k].value) for k in keys]} for p in pairs]}

    def confusion(self, p: PairResult, categories: tuple) -> dict:
        return {"a": p.coder_a, "b": p.coder_b, "categories": [self.category(c) for c in categories],
                "rows": [(self.category(c), [int(v) for v in row]) for c, row in zip(categories, p.confusion)]}

    def per_code(self, items: tuple[ItemAgreement, ...], table_id: str, unitizing: dict | None = None) -> dict:
        rows = []
        for item in items:
            e = item.estimates
            row = {"name": self.name(item.name), "note": self.reason(item.note or "; ".join(sorted(set(item.reasons.values())))),
                   "ua": self.n(unitizing[item.name].alpha) if unitizing and item.name in unitizing else "",
                   "empty": not e}
            if e:
                a, k = e["krippendorff_alpha"].value, headline(item)
                alo, ahi = item.interval("krippendorff_alpha")
                klo, khi = item.interval(k)
                row.update(n=item.n_units, alpha=self.n(a) or self.t["nan"], cls=_verdict_class(a),
                           alo=self.n(alo), ahi=self.n(ahi), reading=self.t.get(krippendorff_verdict(a), ""),
                           kappa=self.n(e[k].value), klo=self.n(klo), khi=self.n(khi),
                           ac1=self.n(e["gwet_ac1"].value), bp=self.n(e["brennan_prediger"].value),
                           pa=self.n(e["percent_agreement"].value))
            rows.append(row)
        first = next((i for i in items if i.estimates), None)
        return {"id": table_id, "rows": rows, "unitizing": bool(unitizing),
                "alpha_method": interval_method(first, "krippendorff_alpha", self.lang, short=True) if first else "",
                "kappa_method": self.tx["ci"]["t_short"]}

    def chart(self, items: list[ItemAgreement]) -> dict | None:
        """Bars of α and κ per code with the .667 and .80 lines, as SVG geometry.

        The SVG scales to its frame (``viewBox``, width 100 %); labels and legend lie
        inside the view box, so nothing is clipped at any window width.
        """
        shown = [i for i in items if i.estimates]
        if not shown:
            return None
        row_h, left, width, right = 22, 230, 500, 30
        finite = [min(i.estimates["krippendorff_alpha"].value, i.estimates[headline(i)].value) for i in shown
                  if all(math.isfinite(i.estimates[k].value) for k in ("krippendorff_alpha", headline(i)))]
        lo = max(min([-0.2, *finite, 0.0]), -1.0)

        def x(v: float) -> float:
            return left + (v - lo) / (1 - lo) * width

        rows, bottom = [], 10 + len(shown) * row_h
        for i, item in enumerate(shown):
            y = 10 + i * row_h
            bars = []
            for key, colour, dy in (("krippendorff_alpha", "#0969da", 0), (headline(item), "#bf8700", 9)):
                v = item.estimates[key].value
                if math.isfinite(v):
                    x0, x1 = sorted((x(0.0), x(v)))
                    bars.append({"x": f"{x0:.1f}", "y": y + dy + 1, "w": f"{max(x1 - x0, 1):.1f}", "colour": colour,
                                 "title": self.t["chart_title"].format(code=self.name(item.name), coefficient=self.label(key),
                                                                       value=self.n(v))})
            rows.append({"label": self.name(item.name)[:34], "x": left - 6, "y": y + 13, "bars": bars})
        ticks = [{"x": f"{x(v):.1f}", "label": label, "dash": dash} for v, label, dash in (
            (0.0, "0", ""), (ALPHA_TENTATIVE, self.n(ALPHA_TENTATIVE), "4 3"),
            (ALPHA_RELIABLE, self.n(ALPHA_RELIABLE, 2), "4 3"), (1.0, "1", ""))]
        if self.lang == "en":  # the English tradition drops the leading zero of a coefficient
            for tick in ticks[1:3]:
                tick["label"] = tick["label"].removeprefix("0")
        return {"w": left + width + right, "h": bottom + 58, "bottom": bottom, "rows": rows, "ticks": ticks}

    def rule(self) -> str:
        r = self.result
        if not r.rule_parts:
            return r.rule
        parts = []
        for key, values in r.rule_parts:
            values = {k: share(v, self.lang) if k == "share" else word(self.tx["levels"], v) if isinstance(v, str) else v
                      for k, v in values.items()}
            parts.append(self.tx["rules"][key].format(**values))
        return "; ".join(parts)

    def unitizing(self) -> dict | None:
        u = self.result.unitizing
        if u is None:
            return None
        rows = [{"code": self.name(a.code), "spans": a.n_spans, "d_o": self.n(a.observed, 4),
                 "d_e": self.n(a.expected, 4), "alpha": self.n(a.alpha, 4), "cls": _verdict_class(a.alpha),
                 "note": self.reason(a.note)} for a in (u.overall, *u.codes.values(), u.binary)]
        length = f"{u.overall.length:,}".replace(",", "." if self.lang == "de" else ",")
        return {"rows": rows, "rule": self.t["unitizing_rule"].format(n_docs=len(u.documents), length=length),
                "documents": ", ".join(u.documents), "left_out": ", ".join(u.left_out)}

    def model_section(self) -> dict:
        comps: list[ModelComparison] = sorted(self.result.model_vs_human,
                                              key=lambda c: (c.model, c.human, SAMPLE_ORDER[c.sample]))
        rows, details = [], []
        for c in comps:
            sample = self.t.get(c.sample if c.sample != "unknown" else "unknown-sample", c.sample)
            e = c.overall.estimates
            if e:
                lo, hi = c.overall.interval("krippendorff_alpha")
                rows.append({"sample_cls": c.sample, "model": c.model, "human": c.human, "sample": sample,
                             "docs": len(c.documents), "n": c.overall.n_units,
                             "alpha": self.n(e["krippendorff_alpha"].value), "lo": self.n(lo), "hi": self.n(hi),
                             "kappa": self.n(e[headline(c.overall)].value), "ac1": self.n(e["gwet_ac1"].value),
                             "pa": self.n(e["percent_agreement"].value)})
            details.append({"model": c.model, "human": c.human, "sample": sample, "documents": ", ".join(c.documents),
                            "per_code": self.per_code(c.items, f"mh-{c.human}-{c.sample}"),
                            "confusions": [self.confusion(p, c.overall.categories) for p in c.overall.pairs]})
        first = next((c.overall for c in comps if c.overall.estimates), None)
        return {"rows": rows, "details": details,
                "alpha_method": interval_method(first, "krippendorff_alpha", self.lang, short=True) if first else ""}

    def item_block(self, item: ItemAgreement) -> dict:
        return {"name": self.name(item.name), "estimates": self.estimates(item) if item.estimates else [],
                "pairs": self.pairs(item), "confusions": [self.confusion(p, item.categories) for p in item.pairs]}


def _trained(result: AgreementResult, model: str, cite: dict) -> str:
    trained = result.model_training.get(model)
    if trained is None:
        return cite["trained_unknown"]
    compared = sorted({d for c in result.model_vs_human if c.model == model for d in c.documents})
    inside = [d for d in compared if d in trained]
    if compared and len(inside) == len(compared):
        return cite["trained_all"].format(n=len(compared))
    if inside:
        return cite["trained_some"].format(n_in=len(inside), n=len(compared))
    return cite["trained_none"]


def citation(result: AgreementResult, lang: str, *, version: str, created: datetime) -> tuple[str, list[str]]:
    """The paragraph to cite the procedure, with this run's figures, and its references.

    It names Krippendorff's α and the κ beside it (Cohen's for two coders, else Fleiss')
    with the values, intervals and interval methods the tables show, the counts of units
    and decisions, the coders (saying which one is a model and whether it was trained on
    the compared documents), αu for free spans, and the thresholds; the references are
    those of the works it cites, nothing else.
    """
    v = _View(result, lang)
    cite = v.tx["citation"]
    overall = result.overall
    unit = v.t.get(f"unit_{result.unit}", result.unit).rstrip(".")
    out = [cite["intro"].format(version=version, date=created.strftime("%Y-%m-%d"), unit=unit)]
    if result.unit == "segment" and result.items:
        n_seg = max((i.n_rated for i in result.items if not i.name.endswith("(frequency)")), default=0)
        out.append(cite["counts_segment"].format(n_segments=n_seg, n_codes=len(result.items),
                                                 total=n_seg * len(result.items), n_decisions=overall.n_units))
    else:
        out.append(cite["counts"].format(n_units=overall.n_units))
    humans = result.human_coders or tuple(c for c in result.coders if c not in result.model_coders)
    models = result.model_coders
    if not models:
        out.append(cite["humans"].format(humans=", ".join(humans)))
    for m in models:
        trained = _trained(result, m, cite)
        key = "one_human_model" if len(humans) < 2 else "humans_model"
        out.append(cite[key].format(human=", ".join(humans), humans=", ".join(humans), model=m, trained=trained))
    keys = ["thresholds"]
    figures = []
    undefined = [k for k in ("krippendorff_alpha", headline(overall))
                 if k in overall.estimates and not math.isfinite(overall.estimates[k].value)]
    for k in undefined:
        out.append(cite["undefined"].format(label=v.label(k), reason=v.reason(overall.reasons.get(k, ""))))
    if "krippendorff_alpha" in overall.estimates and not undefined:
        a = overall.estimates["krippendorff_alpha"].value
        lo, hi = overall.interval("krippendorff_alpha")
        if overall.bootstrap is not None:
            method = cite["bootstrap"].format(n=overall.bootstrap.n_boot, seed=overall.bootstrap.seed)
            figures.append(cite["alpha"].format(value=v.n(a), lo=v.n(lo), hi=v.n(hi), method=method,
                                               refs=IN_TEXT["krippendorff_alpha"]))
            keys.append("krippendorff_alpha")
        else:
            figures.append(cite["alpha_none"].format(value=v.n(a), refs=IN_TEXT["alpha_none"]))
            keys.append("krippendorff2011")
        k = headline(overall)
        if k in overall.estimates:
            klo, khi = overall.interval(k)
            figures.append(cite["kappa"].format(label=v.label(k), value=v.n(overall.estimates[k].value), lo=v.n(klo),
                                                hi=v.n(khi), method=cite["t"], refs=IN_TEXT[k]))
            keys.append(k)
    if figures:
        out.append(cite["report"].format(figures=cite["and"].join(figures)))
    if models and len(humans) >= 2:
        for c in sorted(result.model_vs_human, key=lambda c: (c.model, c.human, SAMPLE_ORDER[c.sample])):
            if "krippendorff_alpha" in c.overall.estimates:
                lo, hi = c.overall.interval("krippendorff_alpha")
                sample = cite[f"sample_{c.sample}"]
                out.append(cite["model_vs"].format(model=c.model, human=c.human, sample=sample, n=len(c.documents),
                                                   value=v.n(c.overall.estimates["krippendorff_alpha"].value),
                                                   lo=v.n(lo), hi=v.n(hi)))
    if result.unitizing is not None:
        out.append(cite["unitizing"].format(value=v.n(result.unitizing.overall.alpha), refs=IN_TEXT["unitizing"]))
        keys.append("unitizing")
    out.append(cite["thresholds"].format(refs=IN_TEXT["thresholds"]))
    refs = sorted({r for key in keys for r in CITED_FOR.get(key, (key,))})
    return " ".join(out), [REFERENCES[r] for r in refs]


def report_context(result: AgreementResult, *, lang: str, title: str | None, created: datetime, version: str,
                   max_disagreements: int = 500) -> dict:
    """Everything ``report.html.j2`` shows, formatted for ``lang``."""
    v = _View(result, lang)
    t = v.t
    humans = result.human_coders or tuple(c for c in result.coders if c not in result.model_coders)
    cards = []
    for m in result.model_coders:
        info = result.models.get(m, {})
        docs = result.model_training.get(m)
        cards.append({"name": m, "path": info.get("path", ""), "codebook": info.get("codebook", "") or "–",
                      "n_codes": t["codes_n"].format(n=info.get("n_codes", 0)),
                      "hash": str(info.get("codebook_hash", ""))[:16],
                      "training": ", ".join(docs) if docs is not None else t["unknown"]})
    overall = result.overall
    if result.unit == "segment" and result.items:
        n_seg = max((i.n_rated for i in result.items if not i.name.endswith("(frequency)")), default=0)
        counts = {"id": "unit-counts", "text": t["segments_codes"].format(
            n_segments=n_seg, n_codes=len(result.items), total=n_seg * len(result.items), n_decisions=overall.n_units)}
    else:
        counts = {"id": "", "text": f"{overall.n_units} {t['units']}. {v.reason(overall.note)}".strip()}
    any_item = next((i for i in (overall, *result.items) if i.estimates), overall)
    alpha_method = interval_method(any_item, "krippendorff_alpha", lang)
    shown = result.disagreements[:max_disagreements]
    cite, refs = citation(result, lang, version=version, created=created)
    more = [REFERENCES[r] for r in TABLE_REFS if REFERENCES[r] not in refs]
    return {
        "lang": lang, "t": t, "title": title or t["title"], "date": created.strftime("%Y-%m-%d %H:%M UTC"),
        "version": version, "sources": list(result.sources), "humans": ", ".join(humans),
        "models": ", ".join(result.model_coders), "cards": cards,
        "unit": t.get(f"unit_{result.unit}", result.unit), "rule": v.rule(),
        "warnings": [(n[0], note_text(n, lang)) for n in result.notes if n[0] in WARNING_NOTES],
        "intervals": t["intervals"].format(alpha=alpha_method, t=v.tx["ci"]["t"]),
        "main_title": t["hh"] if len(humans) >= 2 or result.unit == "table" else t["mh_only"],
        "unitizing": v.unitizing(), "overall": v.item_block(overall), "counts": counts,
        "chart": v.chart(list(result.items)) if result.items else None,
        "per_code": v.per_code(result.items, "per-code", result.unitizing.codes if result.unitizing else None)
        if result.items else None,
        "item_details": [v.item_block(i) for i in result.items if i.pairs],
        "model": v.model_section() if result.model_vs_human else None,
        "pooled": v.item_block(result.pooled) if result.pooled is not None and result.pooled.estimates else None,
        "nan_notes": [note_text(n, lang) for n in result.notes if n[0] == "nan"][:50],
        "n_disagreements": len(result.disagreements), "coders": list(result.coders),
        "disagreements": [{"where": (d.document or d.unit) + (f" {d.start}–{d.end}" if d.start >= 0 else ""),
                           "item": v.name(d.item), "values": [t.get(val, val) or "—" for _, val in d.values],
                           "text": d.text[:400]} for d in shown],
        "first_n": t["first_n"].format(n=len(shown)) if len(result.disagreements) > len(shown) else "",
        "citation": cite, "references": refs, "references_more": more,
    }
