"""Agreement reports: a self-contained HTML page for a methods section (German or
English), the figures as CSV and JSON, and the disagreement list for the consensus
discussion.

The HTML has inline CSS and an inline SVG chart and loads nothing from anywhere, so it
can be mailed, archived or opened offline. Its order follows what a reviewer asks:
what was compared (date, inputs with SHA-256, coders, model and its training
documents, the unit of analysis), human–human agreement, then the model against each
human (in-sample and out-of-sample kept apart), unitizing α for free spans, per code
figures with intervals, confusion matrices, the disagreements in the transcript's own
words, and how to cite the procedure.
"""

from __future__ import annotations

import html
import math
from datetime import datetime, timezone
from pathlib import Path

from pipeline.agreement.assess import AgreementResult, ItemAgreement, ModelComparison, PairResult
from pipeline.agreement.ratings import ALPHA_RELIABLE, ALPHA_TENTATIVE, krippendorff_verdict, landis_koch
from pipeline.agreement.registry import COEFFICIENTS
from pipeline.core.io import atomic_write_csv, atomic_write_text

REPORT_FILES = ("report.html", "figures.csv", "pairs.csv", "disagreements.csv")
LANGS = ("de", "en")


def _f(x: float | None, digits: int = 3) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def headline(item: ItemAgreement) -> str:
    """The κ shown beside α: Cohen's for two coders, Fleiss' otherwise."""
    return "cohen_kappa" if "cohen_kappa" in item.estimates else "fleiss_kappa"


# --------------------------------------------------------------------------- words

#: Text of the report in both languages. Notes from the library are keyed the same way.
TEXT = {
    "de": {
        "title": "Intercoder-Übereinstimmung",
        "date": "Erstellt", "inputs": "Eingaben", "file": "Datei", "coders": "Codierende",
        "humans": "Menschen", "model": "Modell", "models": "Modell(e)", "codesystem": "Codesystem",
        "training_docs": "Trainingsdokumente", "unknown": "unbekannt (die Modellkarte nennt sie nicht)",
        "unit": "Analyseeinheit", "what_unit": "Was als Einheit zählt",
        "unit_segment": "Einheit = Segment: ein Satz oder Sprecherbeitrag, wie autocode ihn bildet; für jeden Code "
                        "entscheidet jede Codierende pro Segment „vorhanden“ oder „nicht vorhanden“.",
        "unit_span": "Einheit = frei markierte Textstelle: Krippendorffs αu vergleicht die markierten Zeichenbereiche "
                     "direkt auf dem Text; daneben werden überlappende Stellen zu Einheiten zusammengefasst.",
        "unit_document": "Einheit = Dokument: kommt der Code im Dokument vor, und wie oft.",
        "unit_table": "Einheit = Zeile der Tabelle; jede Spalte ist eine Codierende.",
        "hh": "1. Übereinstimmung zwischen Menschen",
        "mh": "2. Modell gegen Menschen",
        "mh_only": "Übereinstimmung (eine menschliche Codierende und das Modell)",
        "pooled": "Gepoolt über alle Codierenden, Modell eingeschlossen",
        "pooled_note": "Diese Werte mischen Menschen und Modell; sie sind nicht die Reliabilität der menschlichen "
                       "Codierung.",
        "unitizing": "Unitizing-α (Krippendorff) auf dem Zeichenkontinuum",
        "overall": "Gesamtes Codesystem", "per_code": "Je Code", "pairs": "Paare von Codierenden",
        "confusion": "Konfusionsmatrizen", "disagreements": "Abweichungen",
        "coefficient": "Koeffizient", "value": "Wert", "se": "SE", "ci": "95 %-KI", "reading": "Lesart",
        "units": "Einheiten", "units_in": "eingegangene Einheiten", "code": "Code", "note": "Hinweis",
        "sample": "Stichprobe", "documents": "Dokumente", "human": "Mensch",
        "in-sample": "in-sample (Trainingsdokumente – schmeichelt dem Modell)",
        "out-of-sample": "out-of-sample (nicht trainiert)", "unknown-sample": "unbekannt",
        "location": "Ort", "item": "Code", "text": "Text (Wortlaut des Transkripts)",
        "thresholds": "Krippendorff (2004): α ≥ 0,800 verlässlich, α ≥ 0,667 nur vorläufige Schlüsse, darunter nicht "
                      "verlässlich. Landis & Koch (1977) für κ: 0,81 fast vollkommen, 0,61 substanziell, 0,41 "
                      "mittelmäßig, 0,21 ausreichend. Intervalle: t-Verteilung (Gwet 2014); α: Bootstrap über "
                      "Einheiten.",
        "rows_cols": "Zeilen", "cols": "Spalten",
        "chart_alpha": "Krippendorffs α", "chart_kappa": "κ (Cohen bei zwei, sonst Fleiss)",
        "first_n": "Die ersten {n} sind gezeigt; alle stehen in disagreements.csv.",
        "cite": "Zitiervorschlag für das Verfahren",
        "alpha_u": "αu", "d_o": "D_o (beobachtet)", "d_e": "D_e (erwartet)", "spans": "Markierungen",
        "binary": "Relevanter Text, gleich welcher Code (|uα)",
        "nan": "nicht definiert",
        "yes": "ja", "no": "nein", "absent": "nicht vorhanden", "present": "vorhanden",
        "reliable": "verlässlich", "tentative": "vorläufig", "unreliable": "nicht verlässlich",
        "almost perfect": "fast vollkommen", "substantial": "substanziell", "moderate": "mittelmäßig",
        "fair": "ausreichend", "slight": "gering", "poor": "schlecht",
        "segments_codes": "{n_segments} Segmente × {n_codes} Codes = {total} Entscheidungen „Code vorhanden?“; "
                          "{n_decisions} davon haben mindestens zwei Codierende getroffen. Die Tabelle je Code zählt "
                          "Segmente, die Gesamtzeile Entscheidungen.",
        "models_evaluate": "Ehrliche Qualitätswerte des Modells liefert `autocode evaluate` (dokumentweise "
                           "Kreuzvalidierung).",
    },
    "en": {
        "title": "Inter-coder agreement",
        "date": "Created", "inputs": "Inputs", "file": "File", "coders": "Coders",
        "humans": "humans", "model": "Model", "models": "Model(s)", "codesystem": "Code system",
        "training_docs": "Training documents", "unknown": "unknown (the model card does not list them)",
        "unit": "Unit of analysis", "what_unit": "What counts as a unit",
        "unit_segment": "Unit = segment: a sentence or speaker turn as autocode forms it; for every code each coder "
                        "decides per segment \"present\" or \"absent\".",
        "unit_span": "Unit = freely marked stretch of text: Krippendorff's αu compares the marked character ranges "
                     "directly on the text; besides, overlapping spans are joined into units.",
        "unit_document": "Unit = document: does the code occur in the document, and how often.",
        "unit_table": "Unit = row of the table; every column is a coder.",
        "hh": "1. Agreement between humans",
        "mh": "2. Model against humans",
        "mh_only": "Agreement (one human coder and the model)",
        "pooled": "Pooled over all coders, model included",
        "pooled_note": "These figures mix humans and the model; they are not the reliability of the human coding.",
        "unitizing": "Unitizing α (Krippendorff) on the character continuum",
        "overall": "Whole code system", "per_code": "Per code", "pairs": "Coder pairs",
        "confusion": "Confusion matrices", "disagreements": "Disagreements",
        "coefficient": "Coefficient", "value": "Value", "se": "SE", "ci": "95 % CI", "reading": "Reading",
        "units": "Units", "units_in": "units entered", "code": "Code", "note": "Note",
        "sample": "Sample", "documents": "Documents", "human": "Human",
        "in-sample": "in-sample (training documents – flatters the model)",
        "out-of-sample": "out-of-sample (not trained on)", "unknown-sample": "unknown",
        "location": "Location", "item": "Code", "text": "Text (the transcript's words)",
        "thresholds": "Krippendorff (2004): α ≥ .800 reliable, α ≥ .667 tentative conclusions only, below that "
                      "unreliable. Landis & Koch (1977) for κ: .81 almost perfect, .61 substantial, .41 moderate, "
                      ".21 fair. Intervals: t distribution (Gwet 2014); α: bootstrap over units.",
        "rows_cols": "rows", "cols": "columns",
        "chart_alpha": "Krippendorff's α", "chart_kappa": "κ (Cohen for two coders, else Fleiss)",
        "first_n": "First {n} shown; all are in disagreements.csv.",
        "cite": "How to cite the procedure",
        "alpha_u": "αu", "d_o": "D_o (observed)", "d_e": "D_e (expected)", "spans": "Spans",
        "binary": "Relevant text, whatever the code (|uα)",
        "nan": "undefined",
        "yes": "yes", "no": "no",
        "reliable": "reliable", "tentative": "tentative", "unreliable": "unreliable",
        "almost perfect": "almost perfect", "substantial": "substantial", "moderate": "moderate",
        "fair": "fair", "slight": "slight", "poor": "poor",
        "segments_codes": "{n_segments} segments × {n_codes} codes = {total} \"code present?\" decisions; "
                          "{n_decisions} of them were made by two or more coders. The per-code table counts "
                          "segments, the overall row decisions.",
        "models_evaluate": "Honest quality figures for the model come from `autocode evaluate` (cross-validation "
                           "grouped by document).",
    },
}

NOTES = {
    "de": {
        "all_in_sample": "Alle {n} verglichenen Dokumente sind Trainingsdokumente von {model}: Die Werte Modell gegen "
                         "Mensch sind in-sample und überschätzen die Qualität. Für ehrliche Werte `autocode evaluate` "
                         "verwenden oder nicht trainierte Dokumente vergleichen.",
        "some_in_sample": "{model} wurde auf {n_in} der verglichenen Dokumente trainiert: Diese Werte stehen getrennt "
                          "als in-sample; ehrlich sind nur die Werte auf den {n_out} anderen Dokumenten "
                          "(out-of-sample).",
        "training_unknown": "Die Modellkarte von {model} nennt keine Trainingsdokumente (Modell vor dieser Angabe "
                            "trainiert): Die Werte Modell gegen Mensch können in-sample sein. Modell neu trainieren "
                            "oder `autocode evaluate` verwenden.",
        "one_human": "Nur eine menschliche Codierende ({human}): Es gibt keine Mensch-Mensch-Reliabilität; die "
                     "Werte vergleichen das Modell mit diesem Menschen.",
        "span_collapse": "Bei --unit span ohne --count-uncoded ist „beide nicht codiert“ per Konstruktion nie eine "
                         "Einheit: Jede Einheit hat mindestens eine Markierung. Zufallskorrigierte Koeffizienten "
                         "(κ, α) auf diesen Einheiten fallen daher in sich zusammen (oft nahe 0 oder negativ), auch "
                         "wenn die Markierungen gut übereinstimmen. Maßgeblich ist Krippendorffs αu auf dem "
                         "Zeichenkontinuum; die Überlappungs-Einheiten sind eine Nebenansicht.",
        "segment_counts": "{n_segments} Segmente × {n_codes} Codes: Die Gesamtwerte zählen Entscheidungen "
                          "(Segment, Code), die Tabelle je Code Segmente.",
        "nan": "{item}, {coefficient}: nicht definiert – {reason}.",
    },
    "en": {
        "all_in_sample": "All {n} compared documents are training documents of {model}: the model-vs-human figures "
                         "are in-sample and overstate its quality. For honest figures use `autocode evaluate`, or "
                         "compare on documents the model was not trained on.",
        "some_in_sample": "{model} was trained on {n_in} of the compared documents: those figures are kept apart as "
                          "in-sample; only the figures on the {n_out} other documents (out-of-sample) are honest.",
        "training_unknown": "The model card of {model} does not list its training documents (trained before autocode "
                            "recorded them): the model-vs-human figures may be in-sample. Retrain the model or use "
                            "`autocode evaluate`.",
        "one_human": "Only one human coder ({human}): there is no human–human reliability; the figures compare the "
                     "model with this human.",
        "span_collapse": "With --unit span and without --count-uncoded, \"both left it uncoded\" is never a unit by "
                         "construction: every unit carries at least one span. Chance-corrected coefficients (κ, α) "
                         "on these units therefore collapse (often near 0 or below), even when the spans agree well. "
                         "The figure to report is Krippendorff's αu on the character continuum; the overlap units "
                         "are a secondary view.",
        "segment_counts": "{n_segments} segments × {n_codes} codes: the overall figures count (segment, code) "
                          "decisions, the per-code table segments.",
        "nan": "{item}, {coefficient}: undefined – {reason}.",
    },
}

REASONS_DE = {
    "fewer than two coders on every unit": "weniger als zwei Codierende auf jeder Einheit",
    "one category only: every rating is the same (no variation), so chance agreement is 1":
        "nur eine Kategorie: alle Urteile sind gleich (keine Variation), die Zufallsübereinstimmung ist 1",
    "each coder used one category only on the common units (no variation)":
        "jede Codierende nutzte auf den gemeinsamen Einheiten nur eine Kategorie (keine Variation)",
    "chance agreement is 1 (no variation that agreement could be measured on)":
        "Zufallsübereinstimmung 1 (keine Variation, an der Übereinstimmung messbar wäre)",
    "no coder used this code (no variation)": "niemand hat diesen Code vergeben (keine Variation)",
    "nobody used this code": "niemand hat diesen Code vergeben",
    "no unit was coded by two or more coders": "keine Einheit wurde von zwei oder mehr Codierenden codiert",
}

CITATION = {
    "de": "Die Übereinstimmung wurde mit autocode {version} berechnet ({date}). Analyseeinheit: {unit}. Berichtet "
          "werden Krippendorffs α (Krippendorff, 2011; Hayes & Krippendorff, 2007) mit Bootstrap-Intervall über die "
          "Einheiten, {extra}Cohens κ (Cohen, 1960), Fleiss’ κ (Fleiss, 1971), Congers κ (Conger, 1980), "
          "Brennan-Predigers κ (Brennan & Prediger, 1981) und Gwets AC1 (Gwet, 2008) mit Standardfehlern nach "
          "Gwet (2014). Schwellen nach Krippendorff (2004).",
    "en": "Agreement was computed with autocode {version} ({date}). Unit of analysis: {unit}. We report "
          "Krippendorff's α (Krippendorff, 2011; Hayes & Krippendorff, 2007) with a bootstrap interval over units, "
          "{extra}Cohen's κ (Cohen, 1960), Fleiss' κ (Fleiss, 1971), Conger's κ (Conger, 1980), Brennan–Prediger κ "
          "(Brennan & Prediger, 1981) and Gwet's AC1 (Gwet, 2008) with standard errors after Gwet (2014). "
          "Thresholds after Krippendorff (2004).",
}
CITATION_UNITIZING = {
    "de": "Krippendorffs αu für frei markierte Textstellen auf dem Zeichenkontinuum (Krippendorff, 1995, 2004; "
          "Krippendorff, Mathet, Bouvry & Widlöcher, 2016), ",
    "en": "Krippendorff's αu for freely marked text on the character continuum (Krippendorff, 1995, 2004; "
          "Krippendorff, Mathet, Bouvry & Widlöcher, 2016), ",
}
REFERENCES = (
    "Brennan, R. L., & Prediger, D. J. (1981). Coefficient kappa: Some uses, misuses, and alternatives. "
    "Educational and Psychological Measurement, 41, 687–699.",
    "Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and Psychological Measurement, "
    "20, 37–46.",
    "Conger, A. J. (1980). Integration and generalization of kappas for multiple raters. Psychological Bulletin, "
    "88, 322–328.",
    "Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological Bulletin, 76, "
    "378–382.",
    "Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence of high agreement. "
    "British Journal of Mathematical and Statistical Psychology, 61, 29–48.",
    "Gwet, K. L. (2014). Handbook of Inter-Rater Reliability (4th ed.). Advanced Analytics.",
    "Hayes, A. F., & Krippendorff, K. (2007). Answering the call for a standard reliability measure for coding "
    "data. Communication Methods and Measures, 1, 77–89.",
    "Krippendorff, K. (1995). On the reliability of unitizing continuous data. Sociological Methodology, 25, 47–76.",
    "Krippendorff, K. (2004). Content Analysis: An Introduction to Its Methodology (2nd ed.). Sage.",
    "Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg School for Communication, "
    "University of Pennsylvania.",
    "Krippendorff, K., Mathet, Y., Bouvry, S., & Widlöcher, A. (2016). On the reliability of unitizing textual "
    "continua: Further developments. Quality & Quantity, 50, 2347–2364.",
    "Landis, J. R., & Koch, G. G. (1977). The measurement of observer agreement for categorical data. "
    "Biometrics, 33, 159–174.",
)


def _check_lang(lang: str) -> dict:
    if lang not in TEXT:
        from pipeline.core.errors import InputError

        raise InputError(f"--lang must be one of {', '.join(LANGS)}, found {lang!r}.")
    return TEXT[lang]


def note_text(note: tuple[str, dict], lang: str = "en") -> str:
    """A library note ``(key, values)`` in words."""
    key, values = note
    values = dict(values)
    if lang == "de" and "reason" in values:
        values["reason"] = REASONS_DE.get(values["reason"], values["reason"])
    if key == "segment_counts":
        values = {**values, "total": values["n_segments"] * values["n_codes"]}
    return NOTES[lang][key].format(**values)


# --------------------------------------------------------------------------- JSON


def _item_json(item: ItemAgreement) -> dict:
    return {
        **{name: _num(est.value) for name, est in item.estimates.items()},
        "n_units": item.n_units,
        "n_rated": item.n_rated,
        "units_entered": {name: est.n_units for name, est in item.estimates.items()},
        "alpha_ci": [_num(x) for x in item.bootstrap.ci] if item.bootstrap else None,
        "note": item.note,
        "nan_reasons": dict(item.reasons),
    }


def result_to_json(result: AgreementResult) -> dict:
    """The figures as a JSON-ready dict.

    The top level holds the coefficients of the main item as floats (``None`` where
    undefined) under their registry names: human–human where there are two or more
    human coders. A table input adds ``n_rated``, ``units_entered``, ``weights`` and
    ``nan_reasons``. Coded inputs add ``unit``, ``rule``, ``coders``, ``codes`` (per code:
    coefficients, ``n_units``, ``alpha_ci``, and ``unitizing_alpha`` for span input),
    ``pairs``, ``pooled_with_model``, ``model_vs_human`` (each with ``sample``:
    in-sample / out-of-sample / unknown) and ``model_training_documents``; span input
    adds ``unitizing_alpha`` (all codes) and ``unitizing``.
    """
    overall = result.overall
    out: dict = {name: _num(est.value) for name, est in overall.estimates.items()}
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
        items += [c.overall, *(ItemAgreement(f"{i.name} [{c.model} vs {c.human}, {c.sample}]", i.level, i.categories,
                                             i.n_units, i.estimates, i.pairs, i.bootstrap) for i in c.items)]
    for item in items:
        for name, est in item.estimates.items():
            lo, hi = est.ci
            yield [item.name, "all coders", name, _f(est.value, 6), _f(est.se, 6), _f(lo, 6), _f(hi, 6),
                   _f(est.pa, 6), _f(est.pe, 6), est.n_units, item.level]
        for p in item.pairs:
            for name, est in p.estimates.items():
                lo, hi = est.ci
                yield [item.name, f"{p.coder_a} vs {p.coder_b}", name, _f(est.value, 6), _f(est.se, 6), _f(lo, 6),
                       _f(hi, 6), _f(est.pa, 6), _f(est.pe, 6), p.n_units, item.level]
    if result.unitizing is not None:
        u = result.unitizing
        for a in (u.overall, *u.codes.values(), u.binary):
            yield [a.code, "all coders", "unitizing_alpha", _f(a.alpha, 6), "", "", "", _f(a.observed, 6),
                   _f(a.expected, 6), a.n_spans, "unitizing"]


def write_report(result: AgreementResult, directory: str | Path, *, title: str | None = None,
                 lang: str = "de") -> list[Path]:
    """Write ``report.html``, ``figures.csv``, ``pairs.csv`` and ``disagreements.csv``.

    Returns the paths written.
    """
    directory = Path(directory)
    paths = [directory / name for name in REPORT_FILES]
    atomic_write_text(paths[0], render_html(result, title=title, lang=lang))
    atomic_write_csv(paths[1], ["item", "coders", "coefficient", "value", "se", "ci_low", "ci_high", "pa", "pe",
                                "n_units", "level"], _figure_rows(result))
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

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;color:#222;
line-height:1.4;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;
text-align:right;vertical-align:top}th{background:#f3f3f3}td.l,th.l{text-align:left}
tr.model td{background:#eef6ff}.ok{color:#1a7f37}.tent{color:#9a6700}.bad{color:#cf222e}
table.confusion{display:inline-table;margin-right:1.5rem}.note{color:#555;font-size:.9rem}details{margin:.25rem 0}
code{background:#f6f8fa;padding:0 .2rem}.warn{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem .75rem}
figure.chart{margin:.5rem 0 1rem;max-width:100%;overflow:hidden}figure.chart svg{display:block;width:100%;height:auto}
.refs li{margin:.2rem 0}td.ci{white-space:nowrap}
"""


def _verdict_class(alpha: float) -> str:
    return {"reliable": "ok", "tentative": "tent", "unreliable": "bad"}.get(krippendorff_verdict(alpha), "")


def _fmt(x: float | None, lang: str, digits: int = 3) -> str:
    s = _f(x, digits)
    return s.replace(".", ",") if lang == "de" else s


def _estimate_rows(item: ItemAgreement, t: dict, lang: str) -> str:
    rows = []
    for name, est in item.estimates.items():
        lo, hi = est.ci
        reading = krippendorff_verdict(est.value) if name == "krippendorff_alpha" else (
            landis_koch(est.value) if name != "percent_agreement" else "")
        value = _fmt(est.value, lang) or f"<span title='{html.escape(item.reasons.get(name, ''))}'>{t['nan']}</span>"
        rows.append(
            f"<tr><td class='l'>{html.escape(COEFFICIENTS[name].label)}</td><td>{value}</td>"
            f"<td>{_fmt(est.se, lang)}</td><td>{_fmt(lo, lang)} – {_fmt(hi, lang)}</td><td>{est.n_units}</td>"
            f"<td class='l'>{html.escape(t.get(reading, reading))}</td></tr>"
        )
    if item.bootstrap is not None:
        b = item.bootstrap
        probs = ", ".join(f"P(α &lt; {_fmt(m, lang)}) = {_fmt(p, lang)}" for m, p in b.p_below)
        rows.append(
            f"<tr><td class='l'>α bootstrap ({b.n_boot})</td><td>{_fmt(b.alpha, lang)}</td><td></td>"
            f"<td>{_fmt(b.ci[0], lang)} – {_fmt(b.ci[1], lang)}</td><td>{item.n_units}</td>"
            f"<td class='l'>{probs}</td></tr>"
        )
    return (
        f"<table class='coefficients'><tr><th class='l'>{t['coefficient']}</th><th>{t['value']}</th>"
        f"<th>{t['se']}</th><th>{t['ci']}</th><th>{t['units_in']}</th><th class='l'>{t['reading']}</th></tr>"
        + "".join(rows) + "</table>"
    )


def _pairs_table(item: ItemAgreement, t: dict, lang: str) -> str:
    if not item.pairs:
        return ""
    keys = [k for k in item.pairs[0].estimates]
    pairs = sorted(item.pairs, key=lambda p: (p.involves_model, p.coder_a, p.coder_b))
    head = "".join(f"<th>{html.escape(COEFFICIENTS[k].label)}</th>" for k in keys)
    body = "".join(
        f"<tr class='{'model' if p.involves_model else 'human'}'><td class='l'>{html.escape(p.coder_a)}</td>"
        f"<td class='l'>{html.escape(p.coder_b)}</td><td>{p.n_units}</td>"
        + "".join(f"<td>{_fmt(p.estimates[k].value, lang)}</td>" for k in keys) + "</tr>"
        for p in pairs
    )
    return (f"<table class='pairs'><tr><th class='l'>{t['coders']}</th><th class='l'>{t['coders']}</th>"
            f"<th>{t['units']}</th>{head}</tr>{body}</table>")


def _confusion(p: PairResult, categories: tuple, t: dict) -> str:
    head = "".join(f"<th>{html.escape(t.get(str(c), str(c)))}</th>" for c in categories)
    body = "".join(
        f"<tr><th class='l'>{html.escape(t.get(str(c), str(c)))}</th>"
        + "".join(f"<td>{int(v)}</td>" for v in row) + "</tr>"
        for c, row in zip(categories, p.confusion)
    )
    return (f"<table class='confusion'><caption>{html.escape(p.coder_a)} ({t['rows_cols']}) × "
            f"{html.escape(p.coder_b)} ({t['cols']})</caption><tr><th></th>{head}</tr>{body}</table>")


def _chart(items: list[ItemAgreement], t: dict, lang: str) -> str:
    """Horizontal bars of α and κ per code, with the .667 and .80 lines.

    The SVG scales to its frame (``viewBox``, width 100 %); labels and legend lie inside
    the view box, so nothing is clipped at any window width.
    """
    shown = [i for i in items if i.estimates]
    if not shown:
        return ""
    row_h, left, width, right = 22, 230, 500, 30
    finite = [min(i.estimates["krippendorff_alpha"].value, i.estimates[headline(i)].value) for i in shown
              if all(math.isfinite(i.estimates[k].value) for k in ("krippendorff_alpha", headline(i)))]
    lo = max(min([-0.2, *finite, 0.0]), -1.0)

    def x(v: float) -> float:
        return left + (v - lo) / (1 - lo) * width

    bottom = 10 + len(shown) * row_h
    total_w, total_h = left + width + right, bottom + 58
    parts = [f"<figure class='chart'><svg xmlns='http://www.w3.org/2000/svg' role='img' "
             f"aria-label='{html.escape(t['chart_alpha'])}' viewBox='0 0 {total_w} {total_h}' "
             f"preserveAspectRatio='xMinYMin meet' font-size='12' font-family='sans-serif'>"]
    for i, item in enumerate(shown):
        y = 10 + i * row_h
        parts.append(f"<text class='label' x='{left - 6}' y='{y + 13}' text-anchor='end'>"
                     f"{html.escape(item.name[:34])}</text>")
        for key, colour, dy in (("krippendorff_alpha", "#0969da", 0), (headline(item), "#bf8700", 9)):
            v = item.estimates[key].value
            if math.isfinite(v):
                x0, x1 = sorted((x(0.0), x(v)))
                parts.append(f"<rect x='{x0:.1f}' y='{y + dy + 1}' width='{max(x1 - x0, 1):.1f}' height='8' "
                             f"fill='{colour}'><title>{html.escape(item.name)}: {key} = {v:.3f}</title></rect>")
    for v, label, dash in ((0.0, "0", ""), (ALPHA_TENTATIVE, ".667", "4 3"), (ALPHA_RELIABLE, ".80", "4 3"),
                           (1.0, "1", "")):
        parts.append(f"<line x1='{x(v):.1f}' y1='4' x2='{x(v):.1f}' y2='{bottom}' stroke='#555' "
                     f"stroke-dasharray='{dash}'/><text x='{x(v):.1f}' y='{bottom + 14}' "
                     f"text-anchor='middle'>{label}</text>")
    parts.append(f"<text class='legend' x='10' y='{bottom + 34}'><tspan fill='#0969da'>■</tspan> "
                 f"{html.escape(t['chart_alpha'])}</text>"
                 f"<text class='legend' x='10' y='{bottom + 50}'><tspan fill='#bf8700'>■</tspan> "
                 f"{html.escape(t['chart_kappa'])}</text></svg></figure>")
    return "".join(parts)


def _per_code_table(items: tuple[ItemAgreement, ...], t: dict, lang: str, *, table_id: str = "per-code",
                    unitizing: dict | None = None) -> str:
    ua = f"<th>{t['alpha_u']}</th>" if unitizing else ""
    head = (f"<tr><th class='l'>{t['code']}</th><th>{t['units']}</th><th>α</th><th>α {t['ci']}</th>"
            f"<th class='l'>α {t['reading']}</th>{ua}<th>κ</th><th>κ {t['ci']}</th><th>AC1</th><th>BP κ</th>"
            f"<th>%</th><th class='l'>{t['note']}</th></tr>")
    rows = []
    for item in items:
        e = item.estimates
        u = f"<td>{_fmt(unitizing[item.name].alpha, lang)}</td>" if unitizing and item.name in unitizing else (
            "<td></td>" if unitizing else "")
        note = item.note or "; ".join(sorted(set(item.reasons.values())))
        if lang == "de":
            note = REASONS_DE.get(note, note)
        if not e:
            rows.append(f"<tr><td class='l'>{html.escape(item.name)}</td><td>0</td><td colspan='3'></td>{u}"
                        f"<td colspan='5'></td><td class='l'>{html.escape(note)}</td></tr>")
            continue
        a = e["krippendorff_alpha"].value
        ci = item.bootstrap.ci if item.bootstrap else (math.nan, math.nan)
        k = e[headline(item)]
        klo, khi = k.ci
        verdict = krippendorff_verdict(a)
        rows.append(
            f"<tr><td class='l'>{html.escape(item.name)}</td><td>{item.n_units}</td>"
            f"<td class='{_verdict_class(a)}'>{_fmt(a, lang) or t['nan']}</td>"
            f"<td class='ci'>{_fmt(ci[0], lang)} – {_fmt(ci[1], lang)}</td>"
            f"<td class='l'>{html.escape(t.get(verdict, verdict))}</td>{u}<td>{_fmt(k.value, lang)}</td>"
            f"<td class='ci'>{_fmt(klo, lang)} – {_fmt(khi, lang)}</td>"
            f"<td>{_fmt(e['gwet_ac1'].value, lang)}</td><td>{_fmt(e['brennan_prediger'].value, lang)}</td>"
            f"<td>{_fmt(e['percent_agreement'].value, lang)}</td><td class='l'>{html.escape(note)}</td></tr>"
        )
    return f"<table id='{table_id}' class='per-code'>{head}{''.join(rows)}</table>"


def _model_section(result: AgreementResult, t: dict, lang: str) -> list[str]:
    out = [f"<h2 id='model'>{t['mh']}</h2>"]
    head = (f"<tr><th class='l'>{t['model']}</th><th class='l'>{t['human']}</th><th class='l'>{t['sample']}</th>"
            f"<th>{t['documents']}</th><th>{t['units']}</th><th>α</th><th>α {t['ci']}</th><th>κ</th><th>AC1</th>"
            f"<th>%</th></tr>")
    rows = []
    order = {"out-of-sample": 0, "unknown": 1, "in-sample": 2}
    comps: list[ModelComparison] = sorted(result.model_vs_human, key=lambda c: (c.model, c.human, order[c.sample]))
    for c in comps:
        e = c.overall.estimates
        if not e:
            continue
        ci = c.overall.bootstrap.ci if c.overall.bootstrap else (math.nan, math.nan)
        sample = t.get(c.sample if c.sample != "unknown" else "unknown-sample", c.sample)
        rows.append(
            f"<tr class='model {c.sample}'><td class='l'>{html.escape(c.model)}</td><td class='l'>"
            f"{html.escape(c.human)}</td><td class='l'>{html.escape(sample)}</td><td>{len(c.documents)}</td>"
            f"<td>{c.overall.n_units}</td><td>{_fmt(e['krippendorff_alpha'].value, lang)}</td>"
            f"<td>{_fmt(ci[0], lang)} – {_fmt(ci[1], lang)}</td><td>{_fmt(e[headline(c.overall)].value, lang)}</td>"
            f"<td>{_fmt(e['gwet_ac1'].value, lang)}</td><td>{_fmt(e['percent_agreement'].value, lang)}</td></tr>")
    out.append(f"<table id='model-vs-human' class='model-vs-human'>{head}{''.join(rows)}</table>")
    for c in comps:
        sample = t.get(c.sample if c.sample != "unknown" else "unknown-sample", c.sample)
        out.append(f"<details><summary>{html.escape(c.model)} – {html.escape(c.human)}, {html.escape(sample)}: "
                   f"{t['per_code']} ({html.escape(', '.join(c.documents))})</summary>"
                   + _per_code_table(c.items, t, lang, table_id=f"mh-{c.human}-{c.sample}")
                   + "".join(_confusion(p, c.overall.categories, t) for p in c.overall.pairs) + "</details>")
    out.append(f"<p class='note'>{html.escape(t['models_evaluate'])}</p>")
    return out


def _unitizing_section(result: AgreementResult, t: dict, lang: str) -> list[str]:
    u = result.unitizing
    if u is None:
        return []
    rows = "".join(
        f"<tr><td class='l'>{html.escape(a.code)}</td><td>{a.n_spans}</td><td>{_fmt(a.observed, lang, 4)}</td>"
        f"<td>{_fmt(a.expected, lang, 4)}</td><td class='{_verdict_class(a.alpha)}'>{_fmt(a.alpha, lang, 4)}</td>"
        f"<td class='l'>{html.escape(REASONS_DE.get(a.note, a.note) if lang == 'de' else a.note)}</td></tr>"
        for a in (u.overall, *u.codes.values(), u.binary))
    left = (f"<p class='note'>{t['documents']}: {html.escape(', '.join(u.documents))}"
            + (f"; – {html.escape(', '.join(u.left_out))}" if u.left_out else "") + "</p>")
    return [f"<h2 id='unitizing'>{t['unitizing']}</h2>", f"<p class='note'>{html.escape(u.rule)}.</p>",
            f"<table id='unitizing-table'><tr><th class='l'>{t['code']}</th><th>{t['spans']}</th><th>{t['d_o']}</th>"
            f"<th>{t['d_e']}</th><th>{t['alpha_u']}</th><th class='l'>{t['note']}</th></tr>{rows}</table>", left]


def render_html(result: AgreementResult, *, title: str | None = None, lang: str = "de",
                max_disagreements: int = 500, created: datetime | None = None) -> str:
    """The report as one self-contained HTML string, in German (``"de"``) or English."""
    from pipeline import __version__

    t = _check_lang(lang)
    title = title or t["title"]
    created = created or datetime.now(timezone.utc)
    date = created.strftime("%Y-%m-%d %H:%M UTC")
    overall = result.overall
    out = [
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p><strong>{t['date']}:</strong> <span id='created'>{date}</span>, autocode {html.escape(__version__)}</p>",
    ]
    if result.sources:
        out.append(f"<h2 id='inputs'>{t['inputs']}</h2><table id='inputs-table'><tr><th class='l'>{t['file']}</th>"
                   "<th class='l'>SHA-256</th></tr>" + "".join(
                       f"<tr><td class='l'>{html.escape(p)}</td><td class='l'><code>{h}</code></td></tr>"
                       for p, h in result.sources) + "</table>")
    humans = result.human_coders or tuple(c for c in result.coders if c not in result.model_coders)
    out.append(f"<p><strong>{t['coders']}:</strong> {html.escape(', '.join(humans))} ({t['humans']})"
               + (f"; {t['model']}: {html.escape(', '.join(result.model_coders))}" if result.model_coders else "")
               + ".</p>")
    for m in result.model_coders:
        info = result.models.get(m, {})
        docs = result.model_training.get(m)
        out.append(
            f"<p class='model-card'><strong>{t['model']} {html.escape(m)}:</strong> {html.escape(info.get('path', ''))}; "
            f"{t['codesystem']}: {html.escape(info.get('codebook', '') or '–')} "
            f"({info.get('n_codes', 0)} codes, SHA-256 <code>{html.escape(str(info.get('codebook_hash', ''))[:16])}"
            f"</code>); {t['training_docs']}: "
            + (html.escape(', '.join(docs)) if docs is not None else t["unknown"]) + "</p>")
    unit_key = f"unit_{result.unit}"
    out.append(f"<p><strong>{t['unit']}:</strong> {html.escape(t.get(unit_key, result.unit))}</p>")
    out.append(f"<p class='note'><strong>{t['what_unit']}:</strong> {html.escape(result.rule)}.</p>")
    warnings = [n for n in result.notes if n[0] in ("all_in_sample", "some_in_sample", "training_unknown",
                                                      "one_human", "span_collapse")]
    for n in warnings:
        out.append(f"<p class='warn' data-note='{n[0]}'>{html.escape(note_text(n, lang))}</p>")
    out.append(f"<p class='note'>{html.escape(t['thresholds'])}</p>")

    main_title = t["hh"] if len(humans) >= 2 or result.unit == "table" else t["mh_only"]
    out.append(f"<h2 id='overall'>{main_title}</h2>")
    out.extend(_unitizing_section(result, t, lang))
    out.append(f"<h3>{t['overall']}: {html.escape(overall.name)}</h3>")
    if result.unit == "segment" and result.items:
        n_seg = max((i.n_rated for i in result.items if not i.name.endswith("(frequency)")), default=0)
        out.append("<p class='note' id='unit-counts'>" + html.escape(t["segments_codes"].format(
            n_segments=n_seg, n_codes=len(result.items), total=n_seg * len(result.items),
            n_decisions=overall.n_units)) + "</p>")
    else:
        out.append(f"<p class='note'>{overall.n_units} {t['units']}. {html.escape(overall.note)}</p>")
    if overall.estimates:
        out.append(_estimate_rows(overall, t, lang))
    if overall.pairs:
        out.append(f"<h3>{t['pairs']}</h3>" + _pairs_table(overall, t, lang))
        out.append(f"<h3>{t['confusion']}</h3>" + "".join(_confusion(p, overall.categories, t) for p in overall.pairs))
    if result.items:
        out.append(f"<h3 id='codes'>{t['per_code']}</h3>")
        out.append(_chart(list(result.items), t, lang))
        out.append(_per_code_table(result.items, t, lang,
                                   unitizing=result.unitizing.codes if result.unitizing else None))
        for item in result.items:
            if item.pairs:
                out.append(f"<details><summary>{html.escape(item.name)}: {t['pairs']}, {t['confusion']}</summary>"
                           + _pairs_table(item, t, lang)
                           + "".join(_confusion(p, item.categories, t) for p in item.pairs) + "</details>")
    if result.model_vs_human:
        out.extend(_model_section(result, t, lang))
    if result.pooled is not None and result.pooled.estimates:
        out.append(f"<h2 id='pooled'>{t['pooled']}</h2><p class='note'>{html.escape(t['pooled_note'])}</p>"
                   + _estimate_rows(result.pooled, t, lang) + _pairs_table(result.pooled, t, lang))
    nan_notes = [n for n in result.notes if n[0] == "nan"]
    if nan_notes:
        out.append("<ul class='note nan-reasons'>" + "".join(
            f"<li>{html.escape(note_text(n, lang))}</li>" for n in nan_notes[:50]) + "</ul>")

    out.append(f"<h2 id='disagreements'>{t['disagreements']} ({len(result.disagreements)})</h2>")
    if result.disagreements:
        shown = result.disagreements[:max_disagreements]
        head = "".join(f"<th class='l'>{html.escape(c)}</th>" for c in result.coders)
        body = "".join(
            f"<tr><td class='l'>{html.escape(d.document or d.unit)}"
            + (f" {d.start}–{d.end}" if d.start >= 0 else "") + f"</td><td class='l'>{html.escape(d.item)}</td>"
            + "".join(f"<td class='l'>{html.escape(t.get(v, v)) or '—'}</td>" for _, v in d.values)
            + f"<td class='l'>{html.escape(d.text[:400])}</td></tr>"
            for d in shown
        )
        out.append(f"<table class='disagreements' id='disagreements-table'><tr><th class='l'>{t['location']}</th>"
                   f"<th class='l'>{t['item']}</th>{head}<th class='l'>{t['text']}</th></tr>{body}</table>")
        if len(result.disagreements) > len(shown):
            out.append(f"<p class='note'>{html.escape(t['first_n'].format(n=len(shown)))}</p>")
    unit_words = t.get(unit_key, result.unit)
    cite = CITATION[lang].format(version=__version__, date=created.strftime("%Y-%m-%d"), unit=unit_words.rstrip("."),
                                 extra=CITATION_UNITIZING[lang] if result.unitizing is not None else "")
    out.append(f"<h2 id='cite'>{t['cite']}</h2><p id='citation'>{html.escape(cite)}</p>"
               "<ul class='refs'>" + "".join(f"<li>{html.escape(r)}</li>" for r in REFERENCES) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out)
