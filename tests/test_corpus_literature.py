"""The shipped literature excerpts (corpus/literature/): a second register, read the way
autocode reads it, keeps the promises of corpus/README.md."""

import re
import warnings
from collections import Counter

import pytest

from pipeline.core.codebook import load_codebook
from pipeline.core.config import load_config
from pipeline.defaults import codebook_path
from pipeline.text.codings import read_hand_codes, segment_labels
from pipeline.text.segment import layout, segment_transcript

# After these a trailing hyphen marks an elided compound part ("Sprach- und Kulturbarrieren").
CONJUNCTIONS = {"und", "oder", "bzw", "sowie", "als", "wie", "noch", "bis", "statt"}


@pytest.fixture(scope="module")
def literature(repo):
    book = load_codebook(codebook_path())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hand = read_hand_codes([repo / "corpus" / "literature" / "codings.jsonl"], codebook=book)
    config = load_config(None).segment
    segments = {doc_id: segment_transcript(t, config=config) for doc_id, t in hand.transcripts.items()}
    return book, hand, segments


def test_every_excerpt_is_coded_and_read_as_literature(repo, literature):
    _, hand, _ = literature
    config = load_config(None).segment
    files = sorted(p.stem for p in (repo / "corpus" / "literature").glob("*.txt"))
    assert len(files) >= 7
    assert sorted(hand.transcripts) == files  # every excerpt carries hand codes, none is missing
    for doc_id, t in hand.transcripts.items():
        kind, _ = layout(t, config)
        assert kind == "literature", doc_id
    words = sum(len(t.text.split()) for t in hand.transcripts.values())
    assert words >= 12000, words


def test_codable_segments_and_codes_per_segment(literature):
    book, hand, segments = literature
    codable = [s for segs in segments.values() for s in segs if s.codable]
    assert len(codable) >= 400, len(codable)
    labels = segment_labels(codable, hand.codings)
    per_code = Counter(code for s in codable for code in labels[s.id]["A"])
    assert set(per_code) == set(book.leaf_ids)
    assert min(per_code.values()) >= 15, per_code
    n_codes = [len(labels[s.id]["A"]) for s in codable]
    assert sum(n >= 2 for n in n_codes) >= 20  # sentences that carry two codes
    assert sum(n == 0 for n in n_codes) >= 0.3 * len(codable)  # methods, definitions, transitions


def test_footnotes_and_headings_are_found_and_never_coded(literature):
    _, hand, segments = literature
    all_segments = [s for segs in segments.values() for s in segs]
    roles = Counter(s.role for s in all_segments)
    assert roles["footnote"] >= 8 and roles["heading"] >= 40, roles
    assert not any(s.codable for s in all_segments if s.role in ("footnote", "heading"))
    footnotes = [s.text for s in all_segments if s.role == "footnote"]
    assert all(re.match(r"\d{1,3}\.?\s", text) for text in footnotes), footnotes
    # No coding lands on a footnote or heading, and every coding covers a codable segment.
    labels = segment_labels(all_segments, hand.codings)
    assert not [s.id for s in all_segments if not s.codable and labels[s.id]["A"]]
    for c in hand.codings:
        covered = [s for s in segments[c.document] if s.codable and c.code in labels[s.id]["A"] and s.start < c.end and c.start < s.end]
        assert covered, c


def test_page_breaks_and_footnote_references_leave_no_trace_in_codable_text(literature):
    _, hand, segments = literature
    codable = [s for segs in segments.values() for s in segs if s.codable]
    vocabulary = {w.lower() for t in hand.transcripts.values() for w in re.findall(r"[^\W\d_]+", t.text)}
    raw_breaks = 0
    for s in codable:
        raw = hand.transcripts[s.transcript].text[s.start : s.end]
        raw_breaks += len(re.findall(r"[^\W\d_]-[ \t]*\n", raw))
        # A word hyphenated at a line end is joined again: what is left of "Wort- teil" is an
        # elided compound part before a conjunction, or a hyphen before a capital.
        for left, right in re.findall(r"([^\W\d_]+)-\s+([^\W\d_]+)", s.text):
            assert right in CONJUNCTIONS or right[0].isupper(), (s.id, left, right)
        # A joined word is a word: it does not keep the hyphen, and it occurs as written.
        assert "\n" not in s.text and "\f" not in s.text
        # Footnote reference numbers glued to words are gone ("Oberrhein.1 Die" -> "Oberrhein. Die").
        assert not re.search(r"[a-zäöüß]{2}\d{1,2}\b|[a-zäöüß][.,;:]\d{1,2}\s", s.text), s.text
        assert not re.search(r"Seite \d+|– \d+ –", s.text), s.text
    assert raw_breaks >= 50  # the raw text does have PDF hyphenation to join
    assert {"internationalisierung", "zusammenarbeit"} <= vocabulary


def test_codings_stay_within_their_documents(literature):
    _, hand, _ = literature
    assert {c.coder for c in hand.codings} == {"A"}
    for c in hand.codings:
        text = hand.transcripts[c.document].text
        assert 0 <= c.start < c.end <= len(text)
        span = text[c.start : c.end]
        assert span == span.strip() and "\f" not in span, c
