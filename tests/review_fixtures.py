"""Small review projects for the workbench's tests: three short German interviews on a
cluster's cooperation with France, one of which quotes markup, and a code system of three
codes. Kept as module constants so every test sees the same material."""

from __future__ import annotations

from pathlib import Path

CODEBOOK = """\
name: Testkodes Kooperation
codes:
  - id: MARKT
    name: Marktzugang
    definition: Der Zugang zu Kunden und Absatzmärkten im Nachbarland als Grund der Zusammenarbeit.
    anchors:
      - "Für uns zählt am Ende, ob wir drüben Kunden finden."
  - id: SPRACHE
    name: Sprachbarriere
    definition: Verständigungsprobleme durch Sprache oder Kultur.
    anchors:
      - "Ohne Dolmetscher ging in den Sitzungen gar nichts."
  - id: FOERDER
    name: Fördermittel
    definition: Öffentliche Förderung, Programme und Anträge als Motiv oder Hürde.
"""

INTERVIEWS = {
    "int_a": """\
I: Wie kam die Zusammenarbeit mit Frankreich eigentlich zustande?
B: Ehrlich gesagt ging es uns zuerst um Kunden, wir wollten drüben neue Abnehmer für unsere Sensoren finden.
B: Der französische Markt ist für unsere Mitglieder einfach riesig, da steckt viel Umsatz drin.
I: Und wie lief die Verständigung?
B: Schwierig, also (lacht) ohne Dolmetscher ging in den ersten Sitzungen gar nichts.
B: Viele Kollegen sprechen kein Französisch, und die Franzosen sprechen ungern Englisch.
B: Das Interreg-Programm hat uns dann die ersten Reisen bezahlt, sonst hätten wir das nicht gemacht.
B: Aber die Anträge, ich sag mal so, die sind ein Monster an Bürokratie.
I: Mhm.
B: Am Ende zählt für die Firmen, ob sie drüben Aufträge bekommen, alles andere ist Beiwerk.
""",
    "int_b": """\
I: Was hat Sie bewogen, mitzumachen?
B: Na ja, wir suchen Absatzmärkte, und Lyon ist nun mal nah, da liegen Kunden quasi vor der Haustür.
B: Die Förderung durch die Region war ein Anreiz, muss man ehrlich sagen, ohne Zuschuss kein Projekt.
B: Sprachlich war es holprig, wir haben Missverständnisse gehabt, weil keiner die Fachbegriffe übersetzen konnte.
I: Können Sie ein Beispiel nennen?
B: Einmal stand in einer Mail <script>alert('x')</script> und <img src=x onerror=alert(1)>, das war ein Kopierfehler.
B: Wir wollen unsere Produkte in Frankreich verkaufen, das ist der eigentliche Grund.
B: Die Kulturunterschiede merkt man schon, die Franzosen diskutieren lieber lange, bevor sie entscheiden.
B: Für den nächsten Förderaufruf schreiben wir wieder einen Antrag, das Geld brauchen wir.
""",
    "int_c": """\
I: Wie sehen Sie die Kooperation heute?
B: Also wir haben über die Partnerschaft zwei große Kunden in Straßburg gewonnen, das hat sich gelohnt.
B: Die Sprache bleibt ein Problem, gerade am Telefon versteht man sich kaum.
B: Ohne die Mittel aus dem Bundesprogramm hätten wir die Messe in Paris nie finanzieren können.
I: Und die Zukunft?
B: Wir wollen den Vertrieb in Frankreich ausbauen, neue Kunden, neue Aufträge.
B: Ein Sprachkurs für die Mitarbeiter wäre gut, die Verständigung ist echt mühsam.
B: Die Fördergelder laufen nächstes Jahr aus, mal sehen, ob es einen neuen Aufruf gibt.
""",
}


def truth(text: str) -> list[str]:
    """The codes a careful coder gives a segment of :data:`INTERVIEWS` (by its words)."""
    low = text.lower()
    codes = []
    if any(w in low for w in ("kunden", "markt", "absatz", "verkaufen", "aufträge", "abnehmer", "vertrieb", "umsatz")):
        codes.append("MARKT")
    if any(w in low for w in ("sprach", "dolmetscher", "französisch", "verständ", "übersetz", "kultur")):
        codes.append("SPRACHE")
    if any(w in low for w in ("förder", "interreg", "zuschuss", "anträge", "antrag", "mittel", "programm")):
        codes.append("FOERDER")
    return sorted(codes)


def write_material(root: Path) -> tuple[Path, Path]:
    """The interviews (``root/texts``) and the code system (``root/codebook.yaml``)."""
    texts = root / "texts"
    texts.mkdir(parents=True, exist_ok=True)
    for name, text in INTERVIEWS.items():
        (texts / f"{name}.txt").write_text(text, encoding="utf-8")
    book = root / "codebook.yaml"
    book.write_text(CODEBOOK, encoding="utf-8")
    return texts, book


def make_trained(root: Path, *, coder: str = "T"):
    """A project on :data:`INTERVIEWS` whose ``coder`` decided every codable segment by
    :func:`truth`, with a model ``v1`` trained on it by the background worker (run here,
    in the foreground). Returns the open :class:`pipeline.review.store.Project`."""
    from pipeline.review import worker
    from pipeline.review.serve import prepare

    texts, book = write_material(root)
    project = prepare(root / "proj", texts=[texts], codebook=book, model="none").project
    rows = project.con.execute("SELECT id, text FROM segments WHERE codable = 1").fetchall()
    for r in rows:
        project.decide(r["id"], coder, truth(r["text"]), proposals_shown=False)
    model_id = project.add_model("models/v1", name="v1", origin="trained", status="training", decisions=project.decision_count())
    assert worker.run(root / "proj", model_id, train=True) == 0
    return project
