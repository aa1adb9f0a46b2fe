"""Units of analysis for inter-coder agreement: from codings to rating matrices.

Agreement depends on what counts as one unit, so every result states its rule
(:attr:`CodedUnits.rule`). Four units are supported:

- ``segment`` — coders coded the same segments (unit files matched by unit id, classify
  outputs by segment id, or by document and text where the coders numbered their units
  otherwise (:mod:`pipeline.agreement.matching`), span files projected onto segments).
  Multi-label: every code is a present/absent decision per segment. A coder who shares
  too few units with the others stops the command.
- ``span`` — free character ranges as QDA programs export them. Per document and code,
  spans of all coders that overlap enough are joined into one unit; a coder is
  "present" on a unit when one of their spans belongs to it. Text nobody coded with the
  code is not a unit (it never counts as agreement) unless ``count_uncoded`` is set.
- ``document`` — code present in a document, and code frequency per document.
- ``table`` — a wide table (unit id, one column per coder, cell = category).

The model is one more coder: the output of ``autocode classify`` is read like a coder's
file, with the coder name ``model:<name>``. The figures on the units are computed by
:mod:`pipeline.agreement.assess`.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from pipeline.agreement.matching import MODEL_PREFIX, check_shared_units, model_unit_keys
from pipeline.agreement.unitizing import Span, UnitizingResult, unitizing_alpha
from pipeline.core.codebook import Codebook
from pipeline.core.errors import InputError
from pipeline.core.io import PROJECT_DB, sha256_file
from pipeline.core.types import Coding, Segment
from pipeline.text.code_check import LEFT_OUT, OWN_CODES, CodeUse, check_codes, code_system_of_outputs

UNITS = ("segment", "span", "document")


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class CodedUnits:
    """Codings of several coders on common units, as arrays.

    Attributes:
        unit: ``"segment"``, ``"span"`` or ``"document"``.
        rule: How units were formed, in words, for the report.
        unit_ids: Shape (n_units,). Sorted.
        documents, texts: Per unit: its document and its text (for the disagreement list).
        coders: Shape (n_coders,). Humans sorted, model coders last.
        codes: Shape (n_codes,). Code system order (codebook leaves, else sorted).
        values: ndarray of float, shape (n_units, n_coders, n_codes): 1/0 presence (or
            the frequency, for ``document``), NaN where the coder did not code the unit.
        unit_codes: For ``span`` units, the code each unit belongs to (units are formed
            per code); empty otherwise.
        unitizing: For ``span`` input: Krippendorff's αu on the character continuum.
        model_training: Per model coder, the documents its model was trained on
            (``None``: the model card does not say).
        offsets: Per unit ``(start, end)`` into its document's original text, where known.
        sources: The input files with their SHA-256, for the report.
        rule_parts: The rule as ``(key, values)`` pairs, so that the report can say it
            in any language (``rule`` is the English wording).
    """

    unit: str
    rule: str
    unit_ids: tuple[str, ...]
    documents: tuple[str, ...]
    texts: tuple[str, ...]
    coders: tuple[str, ...]
    codes: tuple[str, ...]
    values: np.ndarray = field(repr=False)
    unit_codes: tuple[str, ...] = ()
    unitizing: UnitizingResult | None = None
    model_training: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    offsets: tuple[tuple[int, int], ...] = ()
    sources: tuple[tuple[str, str], ...] = ()
    models: dict[str, dict] = field(default_factory=dict)
    rule_parts: tuple[tuple[str, dict], ...] = ()

    @property
    def n_shared(self) -> int:
        """Units coded by two or more coders: those that can enter a figure."""
        return int(((~np.isnan(self.values)).any(axis=2).sum(axis=1) >= 2).sum())

    @property
    def model_coders(self) -> tuple[str, ...]:
        return tuple(c for c in self.coders if c.startswith(MODEL_PREFIX))

    def code_matrix(self, code: str, *, presence: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Rating matrix of one code.

        Returns
        -------
        codes : ndarray of int, shape (n_units_of_code, n_coders)
            0 absent / 1 present (or the frequency when ``presence`` is False), -1 missing.
        rows : ndarray of int
            Indices into :attr:`unit_ids` of those units.
        """
        j = self.codes.index(code)
        rows = np.arange(len(self.unit_ids))
        if self.unit_codes:
            rows = rows[np.array([c == code for c in self.unit_codes], dtype=bool)]
        v = self.values[rows, :, j]
        out = np.where(np.isnan(v), -1, (v > 0) if presence else np.nan_to_num(v)).astype(np.int64)
        return out, rows


# --------------------------------------------------------------------------- reading


def read_table(path: str | Path) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """Read a wide agreement table: first column unit id, one column per coder.

    Returns
    -------
    rows : list of (unit_id, cells)
    coders : list of str
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such table. Check the path.")
    text = path.read_text(encoding="utf-8-sig")
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = max(",;\t", key=first.count)
    reader = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not reader or len(reader[0]) < 3:
        raise InputError(
            f"{path}: expected a header 'unit,<coder>,<coder>,...' (a unit id column and at least "
            f"two coder columns), found {reader[0] if reader else 'an empty file'}."
        )
    coders = [c.strip() for c in reader[0][1:]]
    if len(set(coders)) != len(coders) or not all(coders):
        raise InputError(f"{path}: coder column names must be non-empty and unique, found {coders}.")
    rows, seen = [], set()
    for n, row in enumerate(reader[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(coders) + 1:
            raise InputError(f"{path}:{n}: expected {len(coders) + 1} cells, found {len(row)}. Use blanks for missing ratings.")
        uid = row[0].strip()
        if uid in seen:
            raise InputError(f"{path}:{n}: unit id {uid!r} occurs twice; unit ids must be unique.")
        seen.add(uid)
        rows.append((uid, [c.strip() for c in row[1:]]))
    if not rows:
        raise InputError(f"{path}: the table has a header but no units.")
    return rows, coders


@dataclass(frozen=True)
class ModelOutput:
    """One classify output file: its segments and the codes the model gave them."""

    coder: str
    segments: tuple[Segment, ...]
    codes: dict[str, frozenset[str]]
    meta: dict = field(default_factory=dict)


def read_classify_output(path: str | Path) -> ModelOutput:
    """Read ``OUT/<stem>.jsonl`` written by ``autocode classify``."""
    path = Path(path)
    segments, codes, models = [], {}, set()
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            seg = Segment(str(rec["id"]), str(rec["transcript"]), int(rec["start"]), int(rec["end"]),
                          str(rec.get("speaker", "")), str(rec.get("text", "")), str(rec.get("role", "")),
                          bool(rec.get("codable", True)))
            assigned = rec["codes"]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"{path}:{n}: not a classify output record ({exc}); expected id, transcript, start, end, "
                "codes and model as written by 'autocode classify'."
            ) from None
        segments.append(seg)
        codes[seg.id] = frozenset(assigned or ())
        models.add(str(rec.get("model") or "model"))
    name = sorted(models)[0] if len(models) == 1 else "+".join(sorted(models))
    meta_path = path.with_name(path.stem + ".meta.json")
    meta = {}
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            meta = {}
    return ModelOutput(MODEL_PREFIX + name, tuple(segments), codes, meta if isinstance(meta, dict) else {})


def model_card_summary(model_dir: str | Path) -> dict | None:
    """Name, code system and training documents from a model folder's ``model.json``.

    Returns ``None`` when the folder has no readable ``model.json``. The key
    ``training_documents`` (document id -> SHA-256 of its text) is ``None`` for models
    trained before autocode recorded them.
    """
    path = Path(model_dir) / "model.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    training = meta.get("training") or {}
    docs = training.get("document_sha256")
    return {
        "name": meta.get("name", Path(model_dir).name),
        "path": str(Path(model_dir)),
        "codebook": (meta.get("codebook") or {}).get("name", ""),
        "codebook_hash": (meta.get("codebook") or {}).get("hash", ""),
        "n_codes": len((meta.get("codebook") or {}).get("codes") or ()),
        "coder": training.get("coder", ""),
        "created": meta.get("created", ""),
        "training_documents": dict(docs) if isinstance(docs, dict) else None,
    }


def load_coded_units(
    paths: Sequence[str | Path], *, unit: str = "segment", codebook: Codebook | None = None,
    texts: Sequence[str | Path] = (), min_overlap: float = 0.5, count_uncoded: bool = False,
    allow_new_codes: bool = False, assisted: bool = False,
) -> CodedUnits:
    """Read hand-code files and classify outputs into one :class:`CodedUnits`.

    Parameters
    ----------
    paths : sequence of path
        Hand-code files (span or unit format, see :mod:`pipeline.text.codings`) and
        ``autocode classify`` outputs, in any mix.
    unit : {"segment", "span", "document"}
    codebook : Codebook, optional
        Fixes the code list and its order; codes outside it are an error.
    texts : sequence of path
        Folders with the documents of span files.
    min_overlap : float
        Overlap rule, see :func:`pipeline.text.codings.segment_labels` (segments) and
        :func:`span_units` (free spans).
    count_uncoded : bool
        ``span`` only: also count stretches of text that no coder coded with a code
        as units on which everybody agreed on "absent".
    allow_new_codes : bool
        Let codes outside the code system through with a warning. The code system is
        ``codebook``, else the one of the model whose classify outputs are among
        ``paths``; without either, codes one coder alone uses that are near another
        coder's code are warned about (see :func:`pipeline.text.code_check.check_codes`).
    assisted : bool
        Count a review project's decisions made with proposals shown (default: blind ones only).
    """
    if unit not in UNITS:
        raise InputError(f"--unit must be one of {', '.join(UNITS)}, found {unit!r}.")
    if not 0 < min_overlap <= 1:
        raise InputError(f"--min-overlap must be in (0, 1], found {min_overlap}.")
    paths = [Path(p) for p in paths]
    from pipeline.text.codings import read_hand_codes
    from pipeline.text.formats import detect_format
    from pipeline.text.project import is_project

    kinds = {p: "project" if is_project(p) else detect_format(p) if p.is_file() else "" for p in paths}
    if (missing := next((p for p in paths if not kinds[p]), None)) is not None:
        raise InputError(f"{missing}: no such file. Give hand-code files, review project folders or classify outputs.")
    model_paths = [p for p in paths if kinds[p] == "classify"]
    models = [read_classify_output(p) for p in model_paths]
    hand_paths = [p for p in paths if kinds[p] != "classify"]
    hand = read_hand_codes(hand_paths, codebook=codebook, texts=texts, coder_from_file=True, check=False,
                           assisted=assisted) if hand_paths else None
    # Every code read, hand codes and the model's, checked at once (one message for all).
    uses = list(hand.uses) if hand else []
    for p, m in zip(model_paths, models):
        uses += [CodeUse(code, m.coder, f"{p} (segment {seg.id})") for seg in m.segments if seg.codable
                 for code in sorted(m.codes[seg.id])]
    system = (codebook, "") if codebook is not None else code_system_of_outputs([(p, m.meta) for p, m in zip(model_paths, models)])
    check_codes(uses, codebook=system[0] if system else None, origin=system[1] if system else "",
                allow_new=allow_new_codes, consequence=LEFT_OUT if codebook is not None else OWN_CODES)
    codings: list[Coding] = list(hand.span_codings) if hand else []
    transcripts = {d: t for d, t in hand.transcripts.items() if t.kind != "units"} if hand else {}

    # (unit key) -> document, text ; (unit key, coder) -> codes
    info: dict[str, tuple[str, str]] = {}
    labels: dict[tuple[str, str], frozenset[str]] = {}
    coders: set[str] = set()
    for u in hand.units if hand else ():
        info.setdefault(u.key, (u.document, u.text))
        labels[(u.key, u.coder)] = u.codes
        coders.add(u.coder)

    offs: dict[str, tuple[int, int]] = {}
    hand_units = [(u.key, u.document, u.text) for u in hand.units] if hand else []
    for m in models:
        codable = [seg for seg in m.segments if seg.codable]
        # The coders may number their units otherwise than classify does: the same passage is one unit.
        keys = model_unit_keys(hand_units, codable) if hand_units else {seg.id: seg.id for seg in codable}
        for seg in codable:
            key = keys[seg.id]
            info.setdefault(key, (seg.transcript, seg.text))
            offs.setdefault(key, (seg.start, seg.end))
            labels[(key, m.coder)] = m.codes[seg.id]
        coders.add(m.coder)
    input_files = tuple((str(p), sha256_file(p / PROJECT_DB if kinds[p] == "project" else p)) for p in paths)
    model_info, training = _model_training(models, transcripts)

    coded_docs = defaultdict(set)  # coder -> documents they coded
    for c in codings:
        coded_docs[c.coder].add(c.document)
    coders |= set(coded_docs)

    if unit == "span":
        if models or (hand and hand.units):
            raise InputError(
                "--unit span compares free character spans; it needs span files (document,start,end,code,coder). "
                "Classify outputs and unit files are segment-level: use --unit segment."
            )
        units = span_units(codings, {d: t.text for d, t in transcripts.items()}, codebook=codebook,
                           min_overlap=min_overlap, count_uncoded=count_uncoded)
        return replace(units, sources=input_files)

    if codings and unit == "segment":
        segments = _segments_for(transcripts, models)
        projected = _segment_labels(segments, codings, min_overlap)
        for seg in segments:
            if not seg.codable:
                continue
            info.setdefault(seg.id, (seg.transcript, seg.text))
            offs.setdefault(seg.id, (seg.start, seg.end))
            for coder, docs in coded_docs.items():
                if seg.transcript in docs:
                    labels[(seg.id, coder)] = projected.get(seg.id, {}).get(coder, frozenset())

    coder_list = tuple(sorted(c for c in coders if not c.startswith(MODEL_PREFIX))) + tuple(
        sorted(c for c in coders if c.startswith(MODEL_PREFIX)))
    if len(coder_list) < 2:
        raise InputError(
            f"Agreement needs at least two coders; found {len(coder_list)} ({', '.join(coder_list) or 'none'}). "
            "Give each coder's file, or a 'coder' field/column, or add a classify output as the model coder."
        )
    all_codes = {c for v in labels.values() for c in v} | {c.code for c in codings}
    code_list = tuple(codebook.leaf_ids) if codebook is not None else tuple(sorted(all_codes))
    if not code_list:
        raise InputError("No codes found in the given files; there is nothing to compare.")

    if unit == "document":
        units = _document_units(info, labels, codings, coder_list, code_list, transcripts, min_overlap)
        return replace(units, sources=input_files, model_training=training, models=model_info)

    rated: dict[str, list[str]] = {c: [] for c in coder_list}
    for uid, coder in labels:
        rated[coder].append(uid)
    check_shared_units(rated, {uid: doc for uid, (doc, _) in info.items()})
    unit_ids = tuple(sorted(info))
    values = np.full((len(unit_ids), len(coder_list), len(code_list)), np.nan)
    col = {c: j for j, c in enumerate(code_list)}
    for i, uid in enumerate(unit_ids):
        for g, coder in enumerate(coder_list):
            got = labels.get((uid, coder))
            if got is None:
                continue
            values[i, g, :] = 0.0
            for code in got:
                if code in col:
                    values[i, g, col[code]] = 1.0
    sources = []
    parts: list[tuple[str, dict]] = [("segment", {})]
    if hand and hand.units:
        sources.append("unit files matched by unit id (within their document where they name one)")
        parts.append(("segment_unit_files", {}))
    if models:
        sources.append("classify outputs matched by segment id, else by document and text (codable segments only)")
        parts.append(("segment_classify", {}))
    if codings:
        parts.append(("segment_spans_model" if models else "segment_spans", {"share": min_overlap}))
        sources.append(
            f"spans projected onto {'the classify output' if models else 'autocode'}'s segments: a segment gets a "
            f"coder's code when the span covers ≥ {min_overlap:.0%} of the segment or the segment covers ≥ "
            f"{min_overlap:.0%} of the span; a coder counts only on documents in which they coded something"
        )
    rule = "unit = segment; each code is a present/absent decision per segment; " + "; ".join(sources)
    originals = _original_texts(transcripts, models)
    offsets = tuple(offs.get(u, (-1, -1)) for u in unit_ids)
    texts_out = tuple(
        originals[info[u][0]][o[0]:o[1]] if info[u][0] in originals and o[0] >= 0 else info[u][1]
        for u, o in zip(unit_ids, offsets))
    return CodedUnits("segment", rule, unit_ids, tuple(info[u][0] for u in unit_ids), texts_out, coder_list,
                      code_list, values, offsets=offsets, sources=input_files, model_training=training, models=model_info,
                      rule_parts=tuple(parts))


def _original_texts(transcripts: dict, models: Sequence[ModelOutput]) -> dict[str, str]:
    """Document id -> original text: from the span files' documents, else from the
    source file that ``autocode classify`` recorded in its ``.meta.json``."""
    out = {d: t.text for d, t in transcripts.items()}
    for m in models:
        source = m.meta.get("source")
        docs = {s.transcript for s in m.segments} - set(out)
        if source and docs and Path(source).is_file():
            from pipeline.text.ingest import read_transcript

            try:
                t = read_transcript(source)
            except InputError:
                continue
            for d in docs:
                if d == t.id or len(docs) == 1:
                    out[d] = t.text
    return out


def _model_training(models: Sequence[ModelOutput], transcripts: dict) -> tuple[dict, dict]:
    """Per model coder: its model card summary, and the documents it was trained on.

    A compared document counts as a training document when its id is in the model card,
    or its text has the SHA-256 recorded there (a renamed copy of a training document).
    """
    import hashlib

    info: dict[str, dict] = {}
    training: dict[str, tuple[str, ...] | None] = {}
    for m in models:
        model_dir = m.meta.get("model_dir") or ""
        summary = model_card_summary(model_dir) if model_dir else None
        if summary is None:
            summary = {"name": m.coder.removeprefix(MODEL_PREFIX), "path": model_dir, "codebook": "",
                       "codebook_hash": m.meta.get("codebook_hash", ""), "n_codes": 0, "coder": "", "created": "",
                       "training_documents": None}
        info[m.coder] = summary
        docs = summary["training_documents"]
        if docs is None:
            training[m.coder] = None
            continue
        hashes = set(docs.values())
        same_text = {d for d, t in transcripts.items()
                     if hashlib.sha256(t.text.encode("utf-8")).hexdigest() in hashes}
        training[m.coder] = tuple(sorted(set(docs) | same_text))
    return info, training


def _segments_for(transcripts: dict, models: Sequence[ModelOutput]) -> list[Segment]:
    by_doc: dict[str, list[Segment]] = defaultdict(list)
    for m in models:
        for seg in m.segments:
            by_doc[seg.transcript].append(seg)
    out: list[Segment] = []
    for doc in sorted(transcripts):
        if doc in by_doc:
            out.extend(by_doc[doc])
        else:
            from pipeline.text.segment import segment_transcript

            out.extend(segment_transcript(transcripts[doc]))
    return out


def _segment_labels(segments, codings, min_overlap):
    from pipeline.text.codings import segment_labels

    return segment_labels(segments, codings, min_overlap=min_overlap)


def _document_units(info, labels, codings, coders, codes, transcripts, min_overlap) -> CodedUnits:
    counts: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (uid, coder), got in labels.items():
        doc = info[uid][0]
        entry = counts[(doc, coder)]
        for code in got:
            entry[code] += 1
    for c in codings:
        counts[(c.document, c.coder)][c.code] += 1
    docs = tuple(sorted({d for d, _ in counts}))
    values = np.full((len(docs), len(coders), len(codes)), np.nan)
    col = {c: j for j, c in enumerate(codes)}
    for i, doc in enumerate(docs):
        for g, coder in enumerate(coders):
            if (doc, coder) not in counts:
                continue
            values[i, g, :] = 0.0
            for code, n in counts[(doc, coder)].items():
                if code in col:
                    values[i, g, col[code]] = n
    rule = ("unit = document; per code: present in the document or not (nominal), and the number of "
            "codings in the document (interval); a coder counts only on documents in which they coded something")
    texts = tuple(transcripts[d].text[:200] if d in transcripts else "" for d in docs)
    return CodedUnits("document", rule, docs, docs, texts, coders, codes, values, rule_parts=(("document", {}),))


def span_units(
    codings: Sequence[Coding], texts: dict[str, str], *, codebook: Codebook | None = None,
    min_overlap: float = 0.5, count_uncoded: bool = False,
) -> CodedUnits:
    """Units from free spans: same-code spans of different coders joined by overlap.

    Two spans with the same code in the same document *match* when their overlap covers
    at least ``min_overlap`` of either span. Matching spans (transitively) form one
    unit; a coder is present on the unit when one of their spans is in it, absent
    otherwise — absent, not missing, only on documents in which the coder coded
    something. With ``count_uncoded`` every maximal stretch of non-blank text not
    touched by a span of the code becomes a further unit on which all coders said
    "absent"; by default uncoded text never counts as agreement.

    Parameters
    ----------
    codings : sequence of Coding
    texts : dict
        Document id -> text (for the disagreement list and uncoded stretches).

    Returns
    -------
    CodedUnits
        ``unit="span"``; :attr:`CodedUnits.unit_codes` names the code of each unit.
    """
    coders = tuple(sorted({c.coder for c in codings}))
    if len(coders) < 2:
        raise InputError(
            f"Agreement needs at least two coders; found {len(coders)} ({', '.join(coders) or 'none'}) in the span files."
        )
    codes = tuple(codebook.leaf_ids) if codebook is not None else tuple(sorted({c.code for c in codings}))
    coded_docs = defaultdict(set)
    for c in codings:
        coded_docs[c.coder].add(c.document)
    groups: dict[tuple[str, str], list[Coding]] = defaultdict(list)
    for c in codings:
        groups[(c.document, c.code)].append(c)
    unit_ids, documents, unit_texts, unit_codes, rows, offsets = [], [], [], [], [], []
    for (doc, code) in sorted(groups):
        spans = sorted(groups[(doc, code)], key=lambda c: (c.start, c.end, c.coder))
        parent = list(range(len(spans)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for i in range(len(spans)):
            for j in range(i + 1, len(spans)):
                if spans[j].start >= spans[i].end:
                    break
                a, b = spans[i], spans[j]
                overlap = min(a.end, b.end) - max(a.start, b.start)
                if overlap >= min_overlap * (a.end - a.start) or overlap >= min_overlap * (b.end - b.start):
                    parent[find(j)] = find(i)
        clusters: dict[int, list[Coding]] = defaultdict(list)
        for i, s in enumerate(spans):
            clusters[find(i)].append(s)
        text = texts.get(doc, "")
        for members in sorted(clusters.values(), key=lambda m: (min(s.start for s in m), max(s.end for s in m))):
            lo, hi = min(s.start for s in members), max(s.end for s in members)
            present = {s.coder for s in members}
            unit_ids.append(f"{doc}:{lo}-{hi}:{code}")
            offsets.append((lo, hi))
            documents.append(doc)
            unit_texts.append(text[lo:hi])
            unit_codes.append(code)
            rows.append([1.0 if g in present else (0.0 if doc in coded_docs[g] else np.nan) for g in coders])
        if count_uncoded and text:
            covered = np.zeros(len(text), dtype=bool)
            for s in spans:
                covered[s.start:s.end] = True
            k = 0
            while k < len(text):
                if covered[k] or text[k].isspace():
                    k += 1
                    continue
                start = k
                while k < len(text) and not covered[k]:
                    k += 1
                if text[start:k].strip():
                    unit_ids.append(f"{doc}:{start}-{k}:{code}:uncoded")
                    offsets.append((start, k))
                    documents.append(doc)
                    unit_texts.append(text[start:k])
                    unit_codes.append(code)
                    rows.append([0.0 if doc in coded_docs[g] else np.nan for g in coders])
    values = np.full((len(rows), len(coders), len(codes)), np.nan)
    col = {c: j for j, c in enumerate(codes)}
    for i, (row, code) in enumerate(zip(rows, unit_codes)):
        if code in col:
            values[i, :, col[code]] = row
    unitizing = None
    if texts:
        unitizing = unitizing_alpha(
            [Span(c.document, c.coder, c.code, c.start, c.end) for c in codings if c.document in texts],
            {d: (0, len(texts[d])) for d in {c.document for c in codings} if d in texts},
            coders=coders, codes=codes)
    rule = (
        f"unit = span: per document and code, spans of different coders match when their overlap covers "
        f"≥ {min_overlap:.0%} of either span; matching spans form one unit, on which a coder is present if one "
        "of their spans belongs to it; "
        + ("stretches of text nobody coded with the code count as agreed 'absent' units"
           if count_uncoded else "uncoded text is not counted as agreement")
    )
    parts = (("span", {"share": min_overlap}), ("span_uncoded" if count_uncoded else "span_no_uncoded", {}))
    return CodedUnits("span", rule, tuple(unit_ids), tuple(documents), tuple(unit_texts), coders, codes, values,
                      tuple(unit_codes), unitizing=unitizing, offsets=tuple(offsets), rule_parts=parts)
