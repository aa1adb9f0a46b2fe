"""Cleaning rules: (text in, text out) pairs, including texts that must not change."""

import pytest

from pipeline.text.clean import (
    INTERVIEW_RULES,
    apply_rules,
    clean,
    make_dehyphenate,
    normalize_whitespace,
    remove_footnote_refs,
    remove_markers,
    remove_timestamps,
)


@pytest.mark.parametrize(
    "text_in, text_out",
    [
        ("Ja, genau. #00:01:23-4#", "Ja, genau. "),
        ("[00:12:05] Also das war so.", " Also das war so."),
        ("Das (01:12) war so.", "Das  war so."),
        ("Am 12.05.2019 um 14:30 Uhr", "Am 12.05.2019 um 14:30 Uhr"),  # dates and times stay
    ],
)
def test_remove_timestamps(text_in, text_out):
    assert clean(text_in, [remove_timestamps]) == text_out


@pytest.mark.parametrize(
    "text_in, text_out",
    [
        ("Das war (lacht) lustig.", "Das war  lustig."),
        ("Also (...) ich weiß nicht.", "Also  ich weiß nicht."),
        ("Das ist (unv.) gewesen.", "Das ist  gewesen."),
        ("Gut (4 Sek.) weiter.", "Gut  weiter."),
        ("Ja (Telefon klingelt) Moment.", "Ja  Moment."),
        ("Wir als KMU (also kleines Unternehmen) sind", "Wir als KMU (also kleines Unternehmen) sind"),
        ("Die Partner (CARA) in Lyon", "Die Partner (CARA) in Lyon"),
        ("Also (lacht kurz) ja.", "Also  ja."),
        ("Ja (beide lachen) klar.", "Ja  klar."),
        ("Na ja (seufzt) gut.", "Na ja  gut."),
        ("Dann (Pause) weiter.", "Dann  weiter."),
        ("Dann (lange Pause) weiter.", "Dann  weiter."),
        ("Dann (Pause, 5 Sek.) weiter.", "Dann  weiter."),
        ("Das (unv., 2 Sek.) war.", "Das  war."),
        ("Das (unv. 2 Wörter) war.", "Das  war."),
        ("Ja (räuspert sich) also.", "Ja  also."),
        ("Ja (atmet tief ein) also.", "Ja  also."),
        ("Das sagt (laut) jeder.", "Das sagt  jeder."),
        ("Bei (Name der Firma) war", "Bei  war"),
        ("In (Ort) war", "In  war"),
        ("Die (Name anonymisiert) war", "Die  war"),
        ("Warum (??) das?", "Warum  das?"),
        ("Gut (3,5 s) weiter.", "Gut  weiter."),
    ],
)
def test_remove_markers(text_in, text_out):
    assert clean(text_in, [remove_markers]) == text_out


# Parentheses that are text, also those that begin with a word a marker can begin with:
# cleaning must leave them exactly as they are.
@pytest.mark.parametrize(
    "text",
    [
        "Das steht (laut Vertrag) so fest.",
        "Die Kosten (laut Förderbescheid 40 %) trägt das Land.",
        "Das haben wir (siehe oben) schon gesagt.",
        "Die Zahlen (siehe Abschnitt 2) sind älter.",
        "Das Treffen (siehe …) fiel aus.",
        "Eine (Pause machen wir nie) Regel.",
        "Das war (unklar, ob das bleibt) offen.",
        "Die (Firma XY GmbH) in Lyon",
        "Der (Ort des Treffens) wechselt.",
        "Das dauerte (ein Jahr) lang.",
        "Die Sitzung (sehr kurz) war gut.",
        "Das Wetter (leise Musik im Hintergrund) ja.",
        "Wir (also die KMU) machen mit.",
        "Frankreich (Elsass) und Baden",
    ],
)
def test_text_in_parentheses_stays(text):
    assert clean(text, [remove_markers]) == text
    assert clean(text, INTERVIEW_RULES) == " ".join(text.split())


@pytest.mark.parametrize(
    "text_in, text_out",
    [
        ("B: Also (lacht) das war (...) so. #00:01:23-4#", "B: Also das war so."),
        ("Ja (I: Mhm.) genau.", "Ja genau."),
        ("[Firma X] hat   zwei\nStandorte.", "[Firma X] hat zwei Standorte."),
        ("Ganz normaler Satz.", "Ganz normaler Satz."),
    ],
)
def test_interview_rules(text_in, text_out):
    assert clean(text_in, INTERVIEW_RULES) == text_out


DOCUMENT = "Die deutsch-französischen Beziehungen und das Clustermanagement sind wichtig."


@pytest.mark.parametrize(
    "text_in, text_out",
    [
        ("Interna-\ntionalisierung", "Internationalisierung"),
        ("Wettbewerbs- \nrunde", "Wettbewerbsrunde"),
        ("Baden-\nWürttemberg", "Baden-Württemberg"),
        ("Informations-\nund Erfahrungsaustausch", "Informations- und Erfahrungsaustausch"),
        ("die deutsch-\nfranzösischen Projekte", "die deutsch-französischen Projekte"),
        ("Cluster-\nmanagement", "Clustermanagement"),
        ("Deutsch-franz-\nösische", "Deutsch-französische"),
        ("E-Mobilität bleibt", "E-Mobilität bleibt"),
    ],
)
def test_dehyphenate(text_in, text_out):
    assert clean(text_in, [make_dehyphenate(DOCUMENT + " " + text_in)]) == text_out


@pytest.mark.parametrize(
    "text_in, text_out",
    [
        ("Forschungslandschaft7 zusammensetzt", "Forschungslandschaft zusammensetzt"),
        ("gegründet wurde.8 Im selben Jahr", "gegründet wurde. Im selben Jahr"),
        ("„Vier Motoren für Europa“5, erscheinen", "„Vier Motoren für Europa“, erscheinen"),
        ("Unternehmen (KMU)6, sondern", "Unternehmen (KMU), sondern"),
        ("Abschnitt 2.1 zeigt", "Abschnitt 2.1 zeigt"),
        ("2011, S.4.", "2011, S.4."),
        ("im Jahr 2011 gegründet", "im Jahr 2011 gegründet"),
        ("CO2 und H2", "CO2 und H2"),
    ],
)
def test_remove_footnote_refs(text_in, text_out):
    assert clean(text_in, [remove_footnote_refs]) == text_out


def test_normalize_whitespace_trims_and_collapses():
    assert clean("  a \n\n b\t c  ", [normalize_whitespace]) == "a b c"


def test_index_points_into_raw_text():
    raw = "B: Also (lacht) das #00:00:01-2# war\nso."
    cleaned, index = apply_rules(raw, INTERVIEW_RULES)
    assert len(index) == len(cleaned)
    for i, ch in enumerate(cleaned):
        assert raw[index[i]] == ch or (ch == " " and raw[index[i]].isspace())
    assert index == sorted(index)
