"""What the results overview shows, in words and formatted numbers, for its template.

:func:`overview_context` turns an :class:`pipeline.reports.overview.Overview` (read it as
plain data: this module does not import it, so that the overview module can render
through this one) into dicts and lists for ``overview.html.j2``: sentences from the
language's text table, numbers with a decimal comma in German, speaker roles and
segmentation units in words. Machine-read attributes (``data-score``) keep the dot.
"""

from __future__ import annotations

import math

from pipeline.reports.templating import number, texts, word

SHOW_TOP = 6  # examples visible per list (the page holds more, for the filters)
SHOW_BORDER = 4


def _pct(count: int, total: int) -> str:
    return "–" if total <= 0 else f"{100 * count / total:.0f} %"


def _heat(value: float, top: float, hue: int) -> str:
    alpha = 0.0 if top <= 0 else min(1.0, value / top) * 0.75
    return f"background:hsla({hue},62%,48%,{alpha:.2f})"


class _Page:
    def __init__(self, ov, lang: str):
        self.ov, self.lang = ov, lang
        self.tx = texts(lang)
        self.t = self.tx["overview"]

    def f(self, x) -> str:
        """Two decimals, as the overview shows scores and F1; ``–`` where undefined."""
        if x is None or (isinstance(x, float) and not math.isfinite(x)):
            return "–"
        return number(float(x), self.lang, 2)

    def role(self, role: str) -> str:
        return word(self.tx["roles"], role)

    def facts(self) -> list[tuple[str, str]]:
        ov, t = self.ov, self.t
        f = ov.model.facts
        rows = [(t["model"], f"{f.get('model', ov.model.name)}"
                 + (f" ({t['created']} {f['created'][:10]})" if f.get("created") else ""))]
        rows.append((t["codebook"], f"{ov.model.codebook.name} — {t['codes_n'].format(n=len(ov.model.codebook.leaf_ids))}"))
        if f.get("embedder"):
            extra = [t["lexical"]] if f.get("lexical") else []
            if f.get("context"):
                extra.append(f"{f['context']} {t['context']}")
            rows.append((t["embedder"], f["embedder"] + (" + " + ", ".join(extra) if extra else "")))
        if f.get("labels"):
            c = str(f.get("C"))
            rows.append((t["classifier"], t["classifier_line"].format(
                name=f.get("classifier", ""), C=c.replace(".", ",") if self.lang == "de" else c,
                labels=t[f["labels"] if f["labels"] in ("single", "exclusive") else "multi"])))
        if f.get("unit"):
            rows.append((t["unit"], word(self.tx["seg_units"], f["unit"])))
        tr = f.get("training") or {}
        if tr:
            line = t["train_line"].format(documents=tr.get("documents", "?"), segments=tr.get("segments", "?"),
                                          coded=tr.get("coded_segments", "?"), coder=tr.get("coder", "–"))
            files = tr.get("files")
            rows.append((t["training"], line + (f"; {', '.join(map(str, files))}" if isinstance(files, list) and files else "")))
        cv = f.get("cv") or {}
        if "macro_f1" in cv:
            line = t["cv_line"].format(folds=cv.get("folds", "?"), micro=self.f(cv.get("micro_f1")), macro=self.f(cv.get("macro_f1")))
            if "parent_macro_f1" in cv:
                line += t["cv_parent"].format(pmacro=self.f(cv["parent_macro_f1"]))
            rows.append((t["cv"], line))
        parts = []
        for direction, d in ((f.get("transfer") or {}).get("directions") or {}).items():
            if isinstance(d, dict) and isinstance(d.get("micro_f1"), float):
                cv_own = d.get("cv_micro_f1_of_coded_register")
                direction = "→".join(word(self.tx["registers"], r) for r in direction.split("→"))
                parts.append(t["transfer_line"].format(direction=direction, f1=self.f(d["micro_f1"]))
                             + (t["transfer_cv"].format(f1=self.f(cv_own)) if isinstance(cv_own, float) else ""))
        if parts:
            rows.append((t["transfer"], "; ".join(parts)))
        return rows

    def warnings(self) -> list[str]:
        ov, t = self.ov, self.t
        missing = [w.split(":", 1)[1] for w in ov.warnings if w.startswith("source_missing:")]
        lines = []
        if missing:
            lines.append(t["w_source_missing"].format(
                x=", ".join(missing[:5]) + (f" (+{len(missing) - 5})" if len(missing) > 5 else "")))
        for w in ov.warnings:
            kind, _, x = w.partition(":")
            if kind != "source_missing" and f"w_{kind}" in t:
                lines.append(t[f"w_{kind}"].format(x=x))
        return lines

    def filters(self) -> dict:
        ov = self.ov
        depth = {c.id: len(ov.model.codebook.ancestors(c.id)) for c in ov.model.codebook.codes}
        return {"docs": [(i, d.document) for i, d in enumerate(ov.documents)],
                "codes": [(c, "  " * depth[c] + c) for c in ov.ids],
                "roles": [(r, self.role(r)) for r in ov.roles]}

    def matrix(self) -> dict:
        ov = self.ov
        parents = set(ov.model.codebook.parent_ids)
        names = {c.id: c.name for c in ov.model.codebook.codes}
        top = {True: 0.0, False: 0.0}
        for d in ov.documents:
            for c in ov.ids:
                if d.codable:
                    top[c in parents] = max(top[c in parents], d.counts[c] / d.codable)
        rows = []
        for i, d in enumerate(ov.documents):
            cells = [{"col": c, "parent": c in parents, "n": d.counts[c], "pct": _pct(d.counts[c], d.codable),
                      "style": _heat(d.counts[c] / d.codable if d.codable else 0.0, top[c in parents],
                                     212 if c in parents else 152)} for c in ov.ids]
            rows.append({"i": i, "document": d.document, "segments": d.segments, "codable": d.codable, "cells": cells})
        n_cod = sum(d.codable for d in ov.documents)
        sums = []
        for c in ov.ids:
            total = sum(d.counts[c] for d in ov.documents)
            sums.append({"parent": c in parents, "n": total, "pct": _pct(total, n_cod)})
        return {"head": [{"id": c, "name": names[c], "parent": c in parents} for c in ov.ids], "rows": rows,
                "segments": sum(d.segments for d in ov.documents), "codable": n_cod, "sums": sums}

    def cooc(self, M, table_id: str) -> dict:
        ov = self.ov
        cb = ov.model.codebook
        parents = set(cb.parent_ids)
        lineage = {c: {c, *cb.ancestors(c)} for c in ov.ids}

        def related(a: str, b: str) -> bool:
            # A parent always co-occurs with its children: kept out of the colour scale.
            return a in lineage[b] or b in lineage[a]

        others = [int(M[a, b]) for a, ca in enumerate(ov.ids) for b, cb_ in enumerate(ov.ids) if not related(ca, cb_)]
        top = float(max(others, default=0))
        rows = []
        for a, ca in enumerate(ov.ids):
            cells = []
            for b, cb_ in enumerate(ov.ids):
                v = int(M[a, b])
                style = "font-weight:600" if a == b else "color:#8a94a3" if related(ca, cb_) else _heat(v, top, 28)
                cells.append({"parent": cb_ in parents, "style": style, "n": v})
            rows.append({"id": ca, "parent": ca in parents, "cells": cells})
        return {"id": table_id, "head": [{"id": c, "parent": c in parents} for c in ov.ids], "rows": rows}

    def examples(self, items, code: str, limit: int) -> dict:
        ov, t = self.ov, self.t
        docs = {d.document: (i, d.segments) for i, d in enumerate(ov.documents)}
        out = []
        for i, ex in enumerate(items):
            s = ov.segments[ex.segment]
            doc_index, doc_segments = docs[s.document]
            who = t["who"].format(speaker=s.speaker, role=self.role(s.role)) if s.speaker else self.role(s.role)
            out.append({
                "yes": code in s.codes, "doc": doc_index, "role": s.role, "score_attr": f"{ex.score:.4f}",
                "hidden": i >= limit, "score": self.f(ex.score), "document": s.document,
                "pos": t["seg_pos"].format(i=_number(s.id, s.document), last=doc_segments - 1), "chars": t["chars"].format(a=s.start, b=s.end),
                "who": who, "codes": ", ".join(s.codes), "words": s.words, "original": s.original,
                "anchor": ex.anchor if ex.anchor and ex.similarity is not None else "",
                "similarity": self.f(ex.similarity),
            })
        return {"limit": limit, "items": out}

    def code_section(self, cv) -> dict:
        ov, t = self.ov, self.t
        code = cv.code
        cv_fig = ((ov.model.facts.get("cv") or {}).get("per_code") or {}).get(code.id, {})
        return {
            "id": code.id, "name": code.name, "codes_attr": " ".join([code.id, *ov.model.codebook.ancestors(code.id)]),
            "coded": t["coded_n"].format(n=cv.coded),
            "threshold": self.f(cv.threshold) if cv.threshold is not None else "",
            "f1": self.f(cv_fig["f1"]) if "f1" in cv_fig else "", "definition": code.definition,
            "top": self.examples(cv.top, code.id, SHOW_TOP), "above": self.examples(cv.above, code.id, SHOW_BORDER),
            "below": self.examples(cv.below, code.id, SHOW_BORDER),
            "border_note": t["border_note"].format(d=self.f(ov.margin), t=self.f(cv.threshold)) if ov.margin is not None and cv.threshold is not None else "",
            "terms": [(w, self.f(v)) for w, v in cv.terms],
            "anchors": [(a, self.f(sim) if sim is not None else "") for a, sim in cv.anchors],
        }


def _number(segment_id: str, document: str) -> str:
    """The segment's number as its id writes it (``doc:0007`` → ``7``), so that the page
    and the JSONL outputs count alike; a unit's own id as it is."""
    tail = segment_id[len(document) + 1 :] if segment_id.startswith(f"{document}:") else segment_id
    return str(int(tail)) if tail.isdigit() else tail


def overview_context(ov, *, lang: str, version: str) -> dict:
    """Everything ``overview.html.j2`` shows, formatted for ``lang``."""
    page = _Page(ov, lang)
    t = page.t
    n_seg = sum(d.segments for d in ov.documents)
    n_cod = sum(d.codable for d in ov.documents)
    return {
        "lang": lang, "t": t, "model_name": ov.model.name, "window": ov.window,
        "run": t["run"].format(docs=len(ov.documents), segs=n_seg, codable=n_cod, model=ov.model.name),
        "facts": page.facts(), "warnings": page.warnings(), "filters": page.filters(), "matrix": page.matrix(),
        "same": page.cooc(ov.same, "cooc-same"), "near": page.cooc(ov.near, "cooc-near"),
        "codes": [page.code_section(cv) for cv in ov.codes], "footer": t["footer"].format(v=version),
    }
