"""Active learning on files: one round of the loop *code → train → suggest → code*
(``autocode suggest``), and what the coder gets.

:func:`suggest` trains (or takes) a model on the hand codes, scores every uncoded,
codable segment of a pool and picks the ``n`` whose codes would teach the model most —
the choice is :func:`pipeline.learn.active_learning.select`, whose docstring gives the
criteria and the literature. The suggestions become a unit CSV that ``autocode train``
reads back as hand codes once the ``codes`` column is filled
(:func:`write_suggestions_csv`), and a REFI-QDA project with the segments marked
(:func:`write_suggestions_qdpx`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.core.errors import InputError, OutputError
from pipeline.learn.active_learning import DEFAULT_STRATEGY, Strategy, select

MARKER_CODE = "autocode-zu-kodieren"
MARKER_NAME = "autocode: zu kodieren"
CSV_FIELDS = ("id", "text", "codes", "coder", "document", "start", "end", "scores", "reason")


# --- one round on files ------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """One segment suggested for coding, with where it is and why.

    Attributes:
        id: The segment id (``<document>:<index>`` or the unit id).
        document: Its document (file stem).
        start, end: Offsets of the segment in the document's original text (end exclusive).
        text: The document's own words there (``original[start:end]``).
        scores: The current model's scores of its best codes (at most five), best first.
        reason: Why it was chosen.
    """

    id: str
    document: str
    start: int
    end: int
    text: str
    scores: tuple[tuple[str, float], ...]
    reason: str


@dataclass(frozen=True)
class SuggestResult:
    """A round of :func:`suggest`.

    Attributes:
        suggestions: The chosen segments, most useful first.
        model: The model that scored them (trained on the hand codes or loaded).
        pool: How many pool segments were candidates (codable, not coded).
        excluded: Pool segments left out because they are coded, not codable, or the same
            text as a coded segment (keys ``coded``, ``not_codable``, ``same_text``).
        coded: How many segments are coded, per code (``{code: n}``).
        transcripts: The pool documents, by id (for the QDA export).
        seconds: Time of the round's parts (``train``, ``features``, ``select``).
        coder: Whose hand codes counted (several joined by "+").
        coders: The coders whose hand codes counted; the first is written into the CSV.
    """

    suggestions: tuple[Suggestion, ...]
    model: object
    pool: int
    excluded: dict[str, int]
    coded: dict[str, int]
    transcripts: dict = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    coder: str = ""
    coders: tuple[str, ...] = ()


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def suggest(
    coded: Sequence[str | Path],
    pool: Sequence[str | Path],
    *,
    n: int,
    config=None,
    codebook=None,
    model=None,
    coder: str | Sequence[str] | None = None,
    combine: str | None = None,
    texts: Sequence[str | Path] = (),
    seed: int = 0,
    strategy: Strategy | str = DEFAULT_STRATEGY,
    allow_new_codes: bool = False,
) -> SuggestResult:
    """Train (or take) a model on the hand codes and choose ``n`` pool segments to code.

    Args:
        coded: Hand-code files (any format :func:`pipeline.text.codings.read_hand_codes` reads).
        pool: Documents or folders to choose from (any input format).
        n: How many segments to suggest.
        config: Run configuration for training (ignored with ``model``).
        codebook: The code system (default: the model's, or the codes found).
        model: A trained :class:`pipeline.learn.model.Model`; None: train one on ``coded``.
        coder: Whose hand codes count: one coder, several (joined by ``combine``, as
            ``autocode train`` joins them), or None (the coder with most codings).
        combine: How several coders' codes are joined (:data:`pipeline.learn.fit.COMBINE_RULES`;
            default :data:`pipeline.learn.fit.DEFAULT_COMBINE`).
        texts: Extra folders where span documents are looked up.
        seed: Seed of the tie-breaks.
        strategy: See :data:`STRATEGIES`.
        allow_new_codes: Go on (with a warning) when hand codes are not in the code system.

    Segments of documents that carry hand codes are never suggested (autocode reads a
    coded document as coded throughout: its uncoded segments are "no code"), nor segments
    whose words equal a coded segment's (a suggestion file coded in an earlier round),
    nor interviewer turns, headings and footnotes.
    """
    from pipeline.learn.features import embed_segments
    from pipeline.learn.fit import DEFAULT_COMBINE, build_training_set
    from pipeline.learn.train import train_from, training_data
    from pipeline.text.codings import read_hand_codes
    from pipeline.text.ingest import collect_inputs, read_transcript
    from pipeline.text.segment import segment_transcript

    combine = combine or DEFAULT_COMBINE
    clock = {}
    start = time.perf_counter()
    # The hand codes are read once (one warning per finding, not one per reading).
    if model is None:
        if config is None:
            raise ValueError("suggest needs a run configuration or a trained model")
        hand, data = training_data(coded, config=config, codebook=codebook, coder=coder, combine=combine, texts=texts,
                                   allow_new_codes=allow_new_codes)
        model = train_from(hand, data, config=config, evaluate=False, files=[str(p) for p in coded])
    else:
        hand = read_hand_codes(coded, codebook=model.codebook, texts=texts, allow_new_codes=allow_new_codes)
        data = build_training_set(hand, codebook=model.codebook, config=model.config, coder=coder, combine=combine)
    clock["train"] = time.perf_counter() - start

    start = time.perf_counter()
    # A span-coded document is coded throughout; a unit file (an earlier suggestion file,
    # even one naming pool documents) codes only its units, found below by their words.
    coded_docs = {d for d, t in hand.transcripts.items() if t.kind != "units"}
    coded_text = {_key(hand.transcripts[s.transcript].text[s.start : s.end]) for s in data.segments}
    transcripts = {}
    segments = []
    excluded = Counter()
    for path in collect_inputs(list(pool)):
        t = read_transcript(path)
        if t.id in transcripts:
            raise InputError(f"{path}: a second pool document named {t.id!r}. Rename one of the files.")
        transcripts[t.id] = t
        segments.extend(segment_transcript(t, config=model.config.segment))
    candidates = []
    doc_counts: Counter = Counter()  # coded segments per pool document (found by their words)
    for i, s in enumerate(segments):
        if not s.codable:
            excluded["not_codable"] += 1
        elif s.transcript in coded_docs:
            excluded["coded"] += 1
        elif _key(transcripts[s.transcript].text[s.start : s.end]) in coded_text:
            excluded["same_text"] += 1
            doc_counts[s.transcript] += 1
        else:
            candidates.append(i)
    if not candidates:
        raise InputError(
            f"the pool has no uncoded codable segments ({sum(excluded.values())} segments: "
            f"{', '.join(f'{v} {k}' for k, v in sorted(excluded.items())) or 'none'}). Add documents that are not coded yet with --pool."
        )
    rows = np.array(candidates)
    # Every codable segment of the pool documents is embedded (all of them with context
    # features), as training embeds its documents: neighbours and a document's mean
    # (``features.center``) are then read from the whole document, as classify reads them.
    everything = embed_segments(model.embedder, segments, context=model.context)
    X = model.featurizer.transform(everything, [s.text for s in segments], [s.transcript for s in segments])[rows]
    E = everything[rows]
    proba = model.classifier.predict_proba(X)
    coded_E = model.embedder.encode(data.texts)
    clock["features"] = time.perf_counter() - start

    start = time.perf_counter()
    counts = data.Y.sum(axis=0)
    picks = select(
        proba,
        n=n,
        codes=model.codes,
        thresholds=model.classifier.thresholds_,
        single=model.config.classifier.labels != "multi",
        none=model.config.classifier.labels == "exclusive",
        embeddings=E,
        coded_embeddings=coded_E,
        documents=[segments[i].transcript for i in rows],
        code_counts=counts,
        document_counts=doc_counts,
        strategy=strategy,
        seed=seed,
    )
    clock["select"] = time.perf_counter() - start
    out = []
    for p in picks:
        s = segments[rows[p.index]]
        top = np.argsort(-proba[p.index], kind="stable")[:5]
        out.append(
            Suggestion(
                id=s.id,
                document=s.transcript,
                start=s.start,
                end=s.end,
                text=transcripts[s.transcript].text[s.start : s.end],
                scores=tuple((model.codes[j], round(float(proba[p.index, j]), 4)) for j in top),
                reason=p.reason,
            )
        )
    return SuggestResult(
        tuple(out),
        model,
        len(rows),
        dict(excluded),
        {c: int(v) for c, v in zip(model.codes, counts)},
        transcripts,
        {k: round(v, 3) for k, v in clock.items()},
        data.coder,
        data.coders,
    )


# --- what the coder gets ---------------------------------------------------------------------


def _scores_cell(scores: Sequence[tuple[str, float]]) -> str:
    return "; ".join(f"{code} {p:.2f}" for code, p in scores)


def write_suggestions_csv(suggestions: Sequence[Suggestion], out: str | Path, *, coder: str, inputs: Sequence[str | Path] = ()) -> Path:
    """Write the suggestions as a unit CSV that ``autocode train`` reads as hand codes.

    Columns: ``id,text,codes,coder,document,start,end,scores,reason``. ``codes`` is left
    empty for the coder to fill (codes separated by ``;``); a row whose ``codes`` stay
    empty is read as "none of the codes" (delete rows you did not code). The unit reader
    uses ``id``, ``text``, ``codes`` and ``coder``; the other columns say where the segment
    is and why it was chosen.

    Raises:
        OutputError: ``out`` is one of the inputs (autocode never overwrites its input).
    """
    from pipeline.core.io import atomic_write_csv

    out = Path(out)
    for inp in inputs:
        if out.exists() and Path(inp).exists() and out.resolve() == Path(inp).resolve():
            raise OutputError(f"{out}: is one of the inputs; autocode never overwrites its input. Pass another --out.")
    rows = ([s.id, s.text, "", coder, s.document, s.start, s.end, _scores_cell(s.scores), s.reason] for s in suggestions)
    atomic_write_csv(out, list(CSV_FIELDS), rows)
    return out


def write_suggestions_qdpx(suggestions: Sequence[Suggestion], transcripts: Mapping, out: str | Path, *, codebook, model: str):
    """Write a REFI-QDA project holding the pool documents with suggestions, the code
    system plus a marker code ``autocode: zu kodieren``, and one marked selection per
    suggested segment (the reason and the model's best scores in its description).

    Returns:
        The :class:`pipeline.qda.export.ExportResult`.
    """
    from pipeline.core.codebook import Code, Codebook
    from pipeline.qda.export import ClassifiedDocument, ModelCoding, export_documents

    marker = Code(
        id=MARKER_CODE,
        name=MARKER_NAME,
        color="#ffb300",
        definition="Von autocode zum Kodieren vorgeschlagen: kodieren Sie das markierte Segment mit den passenden Codes.",
    )
    book = Codebook(name=codebook.name, codes=(*codebook.codes, marker), description=codebook.description)
    by_doc: dict[str, list[ModelCoding]] = {}
    for s in suggestions:
        note = f"{MARKER_NAME}: {s.reason} (scores: {_scores_cell(s.scores)})"
        by_doc.setdefault(s.document, []).append(ModelCoding(s.start, s.end, MARKER_CODE, None, s.id, note=note))
    docs = [
        ClassifiedDocument(id=d, text=transcripts[d].text, model=model, model_dir="", codings=tuple(c), path=str(transcripts[d].path))
        for d, c in sorted(by_doc.items())
    ]
    return export_documents(docs, out, codebook=book, model=model)
