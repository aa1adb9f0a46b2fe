"""The agreement report: self-contained HTML, CSV figures, and a render in a real browser."""

from __future__ import annotations

import csv
import html as html_lib
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

from pipeline.agreement.assess import assess_coded, assess_table
from pipeline.agreement.units import CodedUnits
from pipeline.reports.agreement import REPORT_FILES, headline, render_html, result_to_json, write_report

CODES = ("HEM-BUERO", "HEM-KOSTEN", "MOT-MARKT")
TEXTS = ("Die Bürokratie war <schlimm> & teuer.", "Neue Kunden in Frankreich.", "Es hat sich gelohnt.",
         "Die Kosten waren zu hoch.", "Wir wollten wachsen.", "Der Markt ist groß.")


def coded_units() -> CodedUnits:
    rng = np.random.default_rng(3)
    truth = rng.random((len(TEXTS), len(CODES))) < 0.4
    truth[0, 0] = True
    values = np.repeat(truth[:, None, :], 3, axis=1).astype(float)
    values[1, 2, 2] = 1 - values[1, 2, 2]  # the model disagrees once
    values[0, 1, 0] = 0.0  # coder B misses a code
    values[5, 1, :] = np.nan  # coder B did not code unit 6
    return CodedUnits(
        "segment", "unit = segment (test)", tuple(f"int01:{i:04d}" for i in range(len(TEXTS))),
        ("int01",) * len(TEXTS), TEXTS, ("A", "B", "model:tfidf"), CODES, values,
    )


@pytest.fixture(scope="module")
def result():
    return assess_coded(coded_units(), n_boot=100)


class TableFinder(HTMLParser):
    """Collects the cell texts of the table with a given id."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, 0, [], None
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href"):
            if attrs.get(key):
                self.external.append(attrs[key])
        if tag == "table":
            if self.inside or attrs.get("id") == self.table_id:
                self.inside += 1
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "table" and self.inside:
            self.inside -= 1
        elif tag in ("td", "th") and self.cell is not None and self.inside:
            self.rows[-1].append(self.cell.strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def per_code_rows(html: str) -> list[list[str]]:
    finder = TableFinder("per-code")
    finder.feed(html)
    return finder.rows


def test_html_is_self_contained_and_escapes_text(result):
    html = render_html(result)
    finder = TableFinder("per-code")
    finder.feed(html)
    assert finder.external == []
    assert not re.search(r"(https?:)?//[a-z]", html.replace("http://www.w3.org/2000/svg", ""))
    assert "<svg" in html and "<style>" in html
    assert "&lt;schlimm&gt; &amp; teuer" in html and "<schlimm>" not in html


def test_per_code_table_has_one_row_per_code(result):
    rows = per_code_rows(render_html(result, lang="en"))
    assert rows[0][:3] == ["Code", "Units", "α"]
    assert [r[0] for r in rows[1:]] == list(CODES)
    for row, item in zip(rows[1:], result.items):
        alpha = item.estimates["krippendorff_alpha"].value
        assert row[2] == (f"{alpha:.3f}" if np.isfinite(alpha) else "undefined")


def test_german_is_the_default_and_english_on_request(result):
    de, en = render_html(result), render_html(result, lang="en")
    assert "<html lang='de'>" in de and "Übereinstimmung zwischen Menschen" in de
    assert "<html lang='en'>" in en and "Agreement between humans" in en
    rows = per_code_rows(de)
    assert rows[0][:3] == ["Code", "Einheiten", "α"]
    finite = [(r, i) for r, i in zip(rows[1:], result.items) if np.isfinite(i.estimates["krippendorff_alpha"].value)]
    assert finite
    row, item = finite[0]
    assert row[2] == f"{item.estimates['krippendorff_alpha'].value:.3f}".replace(".", ",")
    assert "Zitiervorschlag" in de and "Krippendorff, K. (2011)" in de
    assert re.search(r"id='created'>\d{4}-\d\d-\d\d \d\d:\d\d UTC<", de)


def test_human_pairs_first_model_apart(result):
    html = render_html(result, lang="en")
    assert [(p.coder_a, p.coder_b) for p in result.overall.pairs] == [("A", "B")]
    assert html.index("Agreement between humans") < html.index("Model against humans") < html.index(
        "Pooled over all coders, model included")
    assert "model:tfidf" in html and "unknown (the model card does not list them)" in html
    assert "data-note='training_unknown'" in html


def test_chart_draws_reliability_lines(result):
    html = render_html(result)
    # Decimal commas in German, the leading zero dropped as in English-language journals.
    assert ">0,667</text>" in html and ">0,80</text>" in html
    english = render_html(result, lang="en")
    assert ">.667</text>" in english and ">.80</text>" in english
    chart = html[html.index("<figure class='chart'>"):html.index("</figure>")]
    bars = sum(np.isfinite(i.estimates[k].value) for i in result.items if i.estimates
               for k in ("krippendorff_alpha", headline(i)))
    assert chart.count("<rect") == bars > 0
    assert "viewBox=" in chart


def test_report_files_and_csv_agree_with_json(tmp_path, result):
    paths = write_report(result, tmp_path)
    assert [p.name for p in paths] == list(REPORT_FILES)
    figures = list(csv.DictReader((tmp_path / "figures.csv").open(encoding="utf-8")))
    data = result_to_json(result)
    alpha_rows = {r["item"]: float(r["value"]) for r in figures
                  if r["coefficient"] == "krippendorff_alpha" and r["coders"] == "all coders" and r["value"]}
    for code in CODES:
        if data["codes"][code]["krippendorff_alpha"] is not None:
            assert alpha_rows[code] == pytest.approx(data["codes"][code]["krippendorff_alpha"], abs=1e-6)
    disagreements = list(csv.DictReader((tmp_path / "disagreements.csv").open(encoding="utf-8")))
    assert {(d["unit"], d["item"]) for d in disagreements} >= {("int01:0000", "HEM-BUERO")}
    first = next(d for d in disagreements if d["unit"] == "int01:0000" and d["item"] == "HEM-BUERO")
    assert (first["A"], first["B"], first["model:tfidf"]) == ("yes", "no", "yes")


def test_table_report_shows_confusion_matrix(tmp_path):
    rows = [(f"u{i}", list(r)) for i, r in enumerate(
        [("a", "a"), ("a", "b"), ("b", "b"), ("c", "c"), ("c", "a"), ("b", "b")])]
    res = assess_table(rows, coders=["Anna", "Ben"], n_boot=50)
    html = render_html(res, lang="en")
    assert "Anna</caption>" not in html and "Anna (rows) × Ben (columns)" in html
    assert set(result_to_json(res)) >= {"percent_agreement", "cohen_kappa", "scott_pi", "fleiss_kappa",
                                        "conger_kappa", "brennan_prediger", "gwet_ac1", "krippendorff_alpha"}


def _chromium() -> str | None:
    return next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)


# Runs in the browser after layout: the boxes of the chart, its frame and every text in it.
MEASURE = """<script>
const fig = document.querySelector('figure.chart'), svg = fig.querySelector('svg');
const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
const texts = [...svg.querySelectorAll('text')].map(t => [t.textContent, box(t)]);
document.body.setAttribute('data-boxes', JSON.stringify({figure: box(fig), svg: box(svg), texts: texts,
  page: document.documentElement.clientWidth}));
</script></body>"""


@pytest.mark.skipif(_chromium() is None, reason="no chromium binary (apt-get install -y chromium)")
@pytest.mark.parametrize("width", [1200, 640])
def test_chart_fits_its_frame_in_headless_chromium(tmp_path, result, width):
    import json

    write_report(result, tmp_path)
    page = tmp_path / "measure.html"
    page.write_text((tmp_path / "report.html").read_text(encoding="utf-8").replace("</body>", MEASURE),
                    encoding="utf-8")
    base = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={width},1600"]
    dom = subprocess.run([*base, "--dump-dom", page.resolve().as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    # The browser's DOM (after parsing and layout) still holds the per-code table intact.
    assert [r[0] for r in per_code_rows(dom)[1:]] == list(CODES)
    found = re.search(r'data-boxes="([^"]+)"', dom)
    assert found, "the measuring script did not run"
    boxes = json.loads(html_lib.unescape(found.group(1)))
    fl, ft, fr, fb = boxes["figure"]
    sl, st, sr, sb = boxes["svg"]
    assert fr <= boxes["page"] + 0.5 and sr - sl > 100
    assert fl - 0.5 <= sl and sr <= fr + 0.5 and ft - 0.5 <= st and sb <= fb + 0.5
    legend = [t for t in boxes["texts"] if "Krippendorff" in t[0] or "κ" in t[0]]
    assert len(legend) == 2
    for text, (left, t, r, b) in boxes["texts"]:
        assert sl - 0.5 <= left and r <= sr + 0.5 and st - 0.5 <= t and b <= sb + 0.5, f"{text!r} leaves the chart"
    shot = tmp_path / "shot.png"
    subprocess.run([*base, f"--screenshot={shot}", (tmp_path / "report.html").resolve().as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
