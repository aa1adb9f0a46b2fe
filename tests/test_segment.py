"""Segmentation: layouts, roles, units, and offsets that always point into the original."""

import re

import pytest

from pipeline.core.config import SegmentConfig
from pipeline.core.errors import ConfigError
from pipeline.core.types import Transcript
from pipeline.text.clean import INTERVIEW_RULES, clean
from pipeline.text.ingest import read_transcript
from pipeline.text.segment import segment_transcript

INTERVIEW = (
    "Interview 3 – Geschäftsführer, 14.05.2019\n"
    "\n"
    "I: Warum gerade Frankreich? #00:00:44-0#\n"
    "\n"
    "B: Na ja, das liegt direkt vor der Haustür (lacht). In drei Stunden bin ich in Lyon. #00:01:20-3#\n"
    "\n"
    "I: Mhm.\n"
    "\n"
    "B: Und die Kunden, also (...) die sitzen da. Ehrlich gesagt war das\n"
    "der Hauptgrund. #00:01:41-9#\n"
    "\n"
    "B2: Darf ich kurz ergänzen?\n"
)


def seg(text, **kw):
    return segment_transcript(Transcript(id="t", text=text), config=SegmentConfig(**kw) if kw else None)


def test_interview_turns_roles_and_cleaning():
    segments = seg(INTERVIEW)
    assert [(s.role, s.speaker, s.codable) for s in segments[:2]] == [("heading", "", False), ("interviewer", "I", False)]
    respondent = [s for s in segments if s.role == "respondent"]
    assert [s.text for s in respondent] == [
        "Na ja, das liegt direkt vor der Haustür.",
        "In drei Stunden bin ich in Lyon.",
        "Und die Kunden, also die sitzen da.",
        "Ehrlich gesagt war das der Hauptgrund.",
        "Darf ich kurz ergänzen?",
    ]
    assert respondent[-1].speaker == "B2"
    assert all(s.codable for s in respondent)


def test_offsets_round_trip_to_original():
    for s in seg(INTERVIEW):
        original = INTERVIEW[s.start : s.end]
        assert original == original.strip() and original
        # Cleaning the original passage gives the embedded text back.
        assert clean(original, INTERVIEW_RULES) == s.text
    ids = [s.id for s in seg(INTERVIEW)]
    assert ids == [f"t:{i:04d}" for i in range(len(ids))]


def test_no_speaker_labels_no_timestamps_in_text():
    for s in seg(INTERVIEW):
        assert not re.search(r"#\d\d:|\(lacht\)|\(\.\.\.\)|^(I|B\d?):", s.text)


def test_turn_and_window_units():
    turns = [s.text for s in seg(INTERVIEW, unit="turn") if s.role == "respondent"]
    assert turns[0] == "Na ja, das liegt direkt vor der Haustür. In drei Stunden bin ich in Lyon."
    windows = [s.text for s in seg(INTERVIEW, unit="window", max_chars=80) if s.role == "respondent"]
    assert windows == [
        "Na ja, das liegt direkt vor der Haustür. In drei Stunden bin ich in Lyon.",
        "Und die Kunden, also die sitzen da. Ehrlich gesagt war das der Hauptgrund.",
        "Darf ich kurz ergänzen?",
    ]


def test_code_interviewer_option():
    assert all(s.codable for s in seg(INTERVIEW, code_interviewer=True) if s.role == "interviewer")


def test_bad_unit():
    with pytest.raises(ConfigError, match="unknown; expected one of sentence, turn, window"):
        SegmentConfig(unit="paragraph")


def test_crlf_offsets():
    text = INTERVIEW.replace("\n", "\r\n")
    for s in seg(text):
        assert "\r" not in s.text
        assert text[s.start : s.end].strip() == text[s.start : s.end]


def test_named_speakers():
    text = "Interviewerin: Und dann?\n\nM. Laurent: Voilà, dann kam der Antrag.\n\nInterviewerin: Verstehe.\n\nM. Laurent: Genau so war es.\n"
    segments = seg(text)
    assert [(s.speaker, s.role) for s in segments] == [
        ("Interviewerin", "interviewer"), ("M. Laurent", "respondent"), ("Interviewerin", "interviewer"), ("M. Laurent", "respondent"),
    ]


LITERATURE = (
    "1. Einleitung\n"
    "\n"
    "Die Internationalisierung von Clustern gewinnt an Bedeu-\n"
    "tung.1 Die deutsch-französischen Kooperationen gelten als\n"
    "\n"
    "1.\t Vgl. Müller 2015, S. 3.\n"
    "\n"
    " besonders erfolgreich. Baden-\n"
    "Württemberg ist ein Beispiel.\n"
    "\n"
    "-\n"
    "Weitere Forschung ist nötig.\n"
)


def test_literature_paragraphs_headings_footnotes():
    segments = seg(LITERATURE)
    assert [(s.role, s.text) for s in segments] == [
        ("heading", "1. Einleitung"),
        ("body", "Die Internationalisierung von Clustern gewinnt an Bedeutung."),
        ("body", "Die deutsch-französischen Kooperationen gelten als besonders erfolgreich."),
        ("footnote", "1. Vgl. Müller 2015, S. 3."),
        ("body", "Baden-Württemberg ist ein Beispiel."),
        ("body", "Weitere Forschung ist nötig."),
    ]
    assert [s.codable for s in segments] == [False, True, True, False, True, True]
    footnote = segments[3]
    assert LITERATURE[footnote.start : footnote.end] == "1.\t Vgl. Müller 2015, S. 3."


@pytest.mark.parametrize(
    "text",
    [
        "I: Warum Frankreich?\nB: Weil die Kunden dort sitzen. Die Wege sind kurz.\n",
        "Interviewerin: Warum Frankreich?\n\nIP2: Weil die Kunden dort sitzen. Die Wege sind kurz.",
        "Gespräch am 3. Mai\n\nI: Warum Frankreich?\nB: Weil die Kunden dort sitzen. Die Wege sind kurz.\n",
    ],
)
def test_short_interview_is_an_interview(text):
    """Two turns are too few to tell labels by frequency; an interviewer's and a
    respondent's label still make an interview: the question is not coded and no label
    stays in the text."""
    segments = [s for s in seg(text) if s.role != "heading"]
    assert [(s.role, s.codable, s.text) for s in segments] == [
        ("interviewer", False, "Warum Frankreich?"),
        ("respondent", True, "Weil die Kunden dort sitzen."),
        ("respondent", True, "Die Wege sind kurz."),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "3. Ergebnisse\n\nB: Ergebnisse der Befragung zeigen eine hohe Zustimmung.\n\nDie Kooperation gilt als erfolgreich.\n",
        "Anhang\n\nB: Die Kunden sitzen in Lyon.\nB2: Die Wege sind kurz.\n",
        "Hinweis: Die Zahlen sind vorläufig.\n\nQuelle: Eigene Erhebung.\n",
    ],
)
def test_single_labels_do_not_make_literature_an_interview(text):
    """A line starting 'B: ...' in literature, respondent labels without an interviewer,
    or 'Hinweis:'/'Quelle:' lines: body paragraphs, their words kept."""
    segments = seg(text)
    assert {s.role for s in segments} <= {"body", "heading", "footnote"}
    assert "body" in {s.role for s in segments}
    assert any(s.text.startswith(("B:", "Hinweis:")) for s in segments)


def test_units_keep_ids():
    t = Transcript(id="u", text="Erster Satz. Noch einer.\nZweiter.", kind="units", units=(("a1", 0, 24), ("b2", 25, 33)))
    segments = segment_transcript(t)
    assert [(s.id, s.text, s.role) for s in segments] == [("a1", "Erster Satz. Noch einer.", "unit"), ("b2", "Zweiter.", "unit")]


def test_vtt_turns(tmp_path):
    path = tmp_path / "a.vtt"
    path.write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Interviewer>Warum Frankreich?</v>\n\n"
        "00:00:04.500 --> 00:00:09.000\n<v Anna>Weil die Kunden dort sitzen, und\n\n"
        "00:00:09.000 --> 00:00:12.000\n<v Anna>die Wege kurz sind.</v>\n",
        encoding="utf-8",
    )
    t = read_transcript(path)
    segments = segment_transcript(t)
    assert [(s.role, s.speaker, s.text) for s in segments] == [
        ("interviewer", "Interviewer", "Warum Frankreich?"),
        ("respondent", "Anna", "Weil die Kunden dort sitzen, und die Wege kurz sind."),
    ]
    assert t.text[segments[1].start : segments[1].end].endswith("die Wege kurz sind.")


def test_seed_literature_is_clean(shared):
    """The seed study: no broken hyphenation, footnotes and headings marked, offsets valid."""
    t = read_transcript(shared / "seed" / "000_b638a09ae5ae0509.txt")
    segments = segment_transcript(t)
    roles = {s.role for s in segments}
    assert roles == {"body", "heading", "footnote"}
    body = [s for s in segments if s.role == "body"]
    assert len(body) > 200
    for s in segments:
        assert 0 <= s.start < s.end <= len(t.text)
        assert t.text[s.start : s.end].strip() == t.text[s.start : s.end]
    joined = " ".join(s.text for s in body)
    # Hyphenation across line breaks is joined; real compounds keep their hyphen.
    for broken in ("Interna- tionalisierung", "Interna-tionalisierung", "Auffas-sung", "Netz-In"):
        assert broken not in joined
    assert "Internationalisierungsstrategie" in joined and "deutsch-französischen" in joined
    # Footnote lines are footnotes, not body text; no footnote reference digits glued to words.
    assert not any(re.match(r"\d+\.\s+Vgl\.", s.text) for s in body)
    assert sum(s.text.startswith(("Vgl.",)) or " Vgl. " in s.text[:12] for s in segments if s.role == "footnote") > 30
    assert not re.search(r"[a-zäöüß]{3}\d{1,2}\b", joined)
    headings = [s.text for s in segments if s.role == "heading"]
    assert "1. Einleitung" in headings and "5. Schlussbetrachtung" in headings
