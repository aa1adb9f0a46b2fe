"""The agreement report and the results overview on the sample corpus, as a researcher
gets them: one interval per figure in every output, German throughout with ``--lang de``,
and a citation paragraph that holds the run's own figures.

The model coder is a classify output written here from the sample corpus's segments
(coder A's codes, some changed) and named after the shipped default model, whose card
lists the documents it was trained on: building it takes a second, where classifying
with the real model would take a minute.
"""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.codebook import load_codebook
from pipeline.defaults import model_dir
from pipeline.reports.overview import ModelView, build_overview, render_overview
from pipeline.text.ingest import read_transcript
from pipeline.text.segment import segment_transcript

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "pipeline" / "reports" / "templates"
DOCS = ("int01_clustermanagement", "int06_ministerium", "int08_beraterin_interkulturell")

#: Names of coefficients, symbols and words that are the same in German and English
#: text ("Segments" is also the German genitive of "Segment").
SAME_IN_BOTH = {"α", "κ", "αu", "AC1", "BP κ", "SE", "%", "P(α <", "Code", "Codes", "SHA-256", "Transfer",
                "Definition", "Segments"}


def model_output(folder: Path) -> Path:
    """A classify output for DOCS: coder A's codes on autocode's segments, every 9th
    codable segment given MOT-MARKT in addition (so the model disagrees), scores in
    code-system order."""
    book = load_codebook(REPO / "configs" / "codebook.yaml")
    spans: dict[str, list[tuple[int, int, str]]] = {}
    for line in (REPO / "corpus" / "codings.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec["coder"] == "A":
            spans.setdefault(rec["document"], []).append((rec["start"], rec["end"], rec["code"]))
    folder.mkdir(parents=True)
    for doc in DOCS:
        source = REPO / "corpus" / "transcripts" / f"{doc}.txt"
        records, n = [], 0
        for seg in segment_transcript(read_transcript(source)):
            codes = sorted({c for s, e, c in spans.get(doc, ()) if min(e, seg.end) - max(s, seg.start)
                            >= 0.5 * min(e - s, seg.end - seg.start) > 0}) if seg.codable else []
            if seg.codable:
                n += 1
                if n % 9 == 0 and "MOT-MARKT" not in codes:
                    codes.append("MOT-MARKT")
            scores = {c: (0.9 if c in codes else 0.1 + (n % 7) / 20) for c in book.leaf_ids} if seg.codable else {}
            records.append({"id": seg.id, "transcript": seg.transcript, "start": seg.start, "end": seg.end,
                            "speaker": seg.speaker, "role": seg.role, "codable": seg.codable, "text": seg.text,
                            "codes": codes, "parent_codes": sorted({book.get(c).parent for c in codes}),
                            "scores": scores, "model": "default"})
        out = folder / f"{doc}.jsonl"
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        meta = {"source": str(source), "model": "default", "model_dir": str(model_dir())}
        out.with_name(f"{doc}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One ``agreement --report --json`` run in German on the sample corpus: coders A and
    B, and the model against each of them."""
    tmp = tmp_path_factory.mktemp("sample_report")
    outputs = model_output(tmp / "coded")
    res = CliRunner().invoke(app, ["agreement", str(REPO / "corpus" / "codings.jsonl"), str(outputs),
                                   "--report", str(tmp / "report"), "--json", str(tmp / "figures.json"),
                                   "--lang", "de"])
    assert res.exit_code == 0, res.output
    return {"html": (tmp / "report" / "report.html").read_text(encoding="utf-8"),
            "csv": list(csv.DictReader((tmp / "report" / "figures.csv").open(encoding="utf-8"))),
            "json": json.loads((tmp / "figures.json").read_text(encoding="utf-8")), "outputs": outputs}


class Page(HTMLParser):
    """Visible text (and title attributes) of a page, and the cells of every table by id.

    Reference lists are left out of the text: a work is cited in its own language."""

    def __init__(self):
        super().__init__()
        self.text: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.stack: list[str] = []
        self.cell: list[str] | None = None
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("style", "script") or (tag == "ul" and a.get("class") == "refs"):
            self.skip += 1
        for key in ("title", "aria-label", "data-text"):
            if a.get(key):
                self.text.append(a[key])
        if tag == "table":
            self.stack.append(a.get("id") or "")
            self.tables.setdefault(self.stack[-1], [])
        elif tag == "tr" and self.stack:
            self.tables[self.stack[-1]].append([])
        elif tag in ("td", "th") and self.stack:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("style", "script") or (tag == "ul" and self.skip and not self.stack):
            self.skip -= 1
        elif tag == "table" and self.stack:
            self.stack.pop()
        elif tag in ("td", "th") and self.cell is not None and self.stack:
            self.tables[self.stack[-1]][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if not self.skip:
            self.text.append(data)
            if self.cell is not None:
                self.cell.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def bounds(cell: str) -> tuple[str, str]:
    """'0,890 – 0,949' -> ('0.890', '0.949')."""
    lo, hi = cell.split(" – ")
    return lo.replace(",", "."), hi.replace(",", ".")


def three(x: float | str | None) -> str:
    return "" if x in (None, "") else f"{float(x):.3f}"


def test_each_interval_is_the_same_in_html_csv_and_json(run):
    page, data = parse(run["html"]), run["json"]
    german = yaml.safe_load((TEMPLATES / "texts_de.yaml").read_text(encoding="utf-8"))["coefficients"]
    name_of = {label: key for key, label in german.items()}
    main = [r for r in run["csv"] if r["coders"] == "all coders"]

    def csv_ci(item: str, coefficient: str) -> tuple[str, str]:
        row = next(r for r in main if r["item"] == item and r["coefficient"] == coefficient)
        return three(row["ci_low"]), three(row["ci_high"])

    # Every coefficient of the main item: the coefficient table, figures.csv, the JSON.
    rows = page.tables["coefficients"][1:]
    assert {name_of[r[0]] for r in rows} == set(data["ci"]) >= {"krippendorff_alpha", "cohen_kappa", "gwet_ac1"}
    overall = next(r["item"] for r in main if r["coefficient"] == "krippendorff_alpha")
    for r in rows:
        name = name_of[r[0]]
        assert bounds(r[3]) == csv_ci(overall, name) == tuple(three(x) for x in data["ci"][name]), name
    # α: one method, stated beside it, and not the t interval of its standard error.
    alpha_row = next(r for r in rows if name_of[r[0]] == "krippendorff_alpha")
    assert "Bootstrap über Einheiten, 1000 Ziehungen" in alpha_row[4]
    assert data["ci_method"]["krippendorff_alpha"].startswith("Krippendorff's α – percentile bootstrap over units")
    assert not any(r[0].startswith("α bootstrap") for r in rows), "a second α row with another interval is back"

    # Per code: α and κ intervals.
    per_code = page.tables["per-code"]
    head = per_code[0]
    for r in per_code[1:]:
        code = r[0]
        assert bounds(r[head.index("α 95 %-KI")]) == csv_ci(code, "krippendorff_alpha") == tuple(
            three(x) for x in data["codes"][code]["ci"]["krippendorff_alpha"]), code
        assert bounds(r[head.index("κ 95 %-KI")]) == csv_ci(code, "cohen_kappa") == tuple(
            three(x) for x in data["codes"][code]["ci"]["cohen_kappa"]), code

    # The model against each human: the table, figures.csv and the JSON.
    table = page.tables["model-vs-human"]
    assert len(table) - 1 == len(data["model_vs_human"]) >= 2
    by_human = {c["human"]: c for c in data["model_vs_human"]}
    for r in table[1:]:
        entry = by_human[r[1]]
        item = f"{entry['model']} vs {entry['human']} ({entry['sample']})"
        assert bounds(r[6]) == csv_ci(item, "krippendorff_alpha") == tuple(
            three(x) for x in entry["ci"]["krippendorff_alpha"]), item


def english_strings() -> set[str]:
    """Every literal piece of the English text table, and the English library words that
    the German table translates (reasons, item names, roles, segmentation units)."""
    en = yaml.safe_load((TEMPLATES / "texts_en.yaml").read_text(encoding="utf-8"))
    de = yaml.safe_load((TEMPLATES / "texts_de.yaml").read_text(encoding="utf-8"))
    found: set[str] = set()

    def walk(x):
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, str):
            for piece in re.split(r"\{[^}]*\}", x):
                piece = piece.strip(" .,;:()–-\"“”'")
                if len(piece) >= 2 and re.search(r"[A-Za-z]", piece) and piece not in SAME_IN_BOTH:
                    found.add(piece)

    walk(en)
    for section in ("reasons", "names", "roles", "seg_units", "registers"):
        found |= {k for k in de[section] if k not in SAME_IN_BOTH}
    return found


def leaks(text: str) -> list[str]:
    text = re.sub(r"\S*/\S*", " ", text)  # file paths are the user's, in any language
    return sorted(s for s in english_strings()
                  if re.search(r"(?<![\w-])" + re.escape(s) + r"(?![\w-])", text))


def test_german_report_has_no_english(run):
    text = " ".join(" ".join(parse(run["html"]).text).split())
    assert leaks(text) == []
    # Decimal commas: no number with a decimal point except the autocode version.
    from pipeline import __version__

    assert re.findall(r"\d\.\d", text.replace(f"autocode {__version__}", "")) == []


def test_german_overview_has_no_english(run):
    card = json.loads((model_dir() / "model.json").read_text(encoding="utf-8"))
    book = load_codebook(REPO / "configs" / "codebook.yaml")
    facts = {"model": "default", "created": card["created"], "embedder": "e5-small", "lexical": True, "context": 1,
             "labels": "multi", "classifier": "logreg", "C": 0.02, "unit": "sentence", "training": card["training"],
             "cv": card.get("cv", {}), "transfer": card.get("transfer", {})}
    model = ModelView(name="default", codebook=book, thresholds={c: 0.5 for c in book.leaf_ids},
                      terms={"MOT-EUROPA": [("europa", 0.91), ("eu", 0.42)]}, facts=facts)
    ov = build_overview(sorted(run["outputs"].glob("*.jsonl")), model=model)
    html = render_overview(ov, lang="de")
    text = " ".join(" ".join(parse(html).text).split())
    assert leaks(text) == []
    from pipeline import __version__

    assert re.findall(r"\d\.\d", text.replace(f"autocode {__version__}", "")) == []
    # Roles in German, on the examples and in the filter; the machine-read values stay.
    assert "B (Befragte/r)" in text or "(Befragte/r)" in text
    assert "<option value='respondent'>Befragte/r</option>" in html
    assert re.search(r"\beuropa \d,\d\d\b", text) and "Interviews→Literatur: Mikro-F1" in text  # a word's weight, German decimals
    english = render_overview(ov, lang="en")
    assert "<option value='respondent'>respondent</option>" in english
    assert "europa 0.91" in " ".join(" ".join(parse(english).text).split())


def test_citation_paragraph_holds_the_figures_of_its_run(run):
    page, data = parse(run["html"]), run["json"]
    html = run["html"]
    cite = html[html.index("<p id='citation'>"):]
    cite = " ".join(cite[:cite.index("</p>")].split())
    rows = {r[0]: r for r in page.tables["coefficients"][1:]}
    alpha, kappa = rows["Krippendorffs α"], rows["Cohens κ"]
    # Value and interval exactly as the table shows them, and the method.
    for row in (alpha, kappa):
        lo, hi = row[3].split(" – ")
        assert f"{row[0]} = {row[1]} (95 %-KI {lo}–{hi}" in cite, row
    assert "Perzentil-Bootstrap über die Einheiten, 1000 Ziehungen, Startwert 0" in cite
    # Units and decisions; the coders; the model and whether it saw the documents.
    counts = re.search(r"(\d+) Segmente × 14 Codes ergeben (\d+) Entscheidungen", cite)
    assert counts and int(counts.group(1)) * 14 == int(counts.group(2))
    assert f"{data['n_units']} davon haben mindestens zwei Codierende" in cite
    assert "A, B (Menschen)" in cite and "model:default, ein automatischer Codierer" in cite
    assert f"auf allen {len(DOCS)} verglichenen Dokumenten trainiert" in cite
    # Only the references of what it cites: no unitizing papers for segments.
    cited = html[html.index("<ul class='refs' id='references'>"):]
    cited = cited[:cited.index("</ul>")]
    assert "Krippendorff, K. (2011)" in cited and "Cohen, J. (1960)" in cited and "Efron" in cited
    assert "On the reliability of unitizing" not in cited and "Fleiss, J. L. (1971)" not in cited
    assert "Krippendorffs αu" not in cite


def test_english_citation_paragraph(run, tmp_path):
    res = CliRunner().invoke(app, ["agreement", str(REPO / "corpus" / "codings.jsonl"), str(run["outputs"]),
                                   "--report", str(tmp_path / "en"), "--lang", "en"])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "en" / "report.html").read_text(encoding="utf-8")
    cite = html[html.index("<p id='citation'>"):]
    cite = cite[:cite.index("</p>")]
    value = f"{run['json']['krippendorff_alpha']:.3f}"
    lo, hi = (f"{x:.3f}" for x in run["json"]["ci"]["krippendorff_alpha"])
    assert f"Krippendorff&#39;s α = {value} (95 % CI {lo}–{hi}, percentile bootstrap over units, 1000 draws" in cite
    assert "an automatic coder (an autocode model) trained on all 3 compared documents" in cite
