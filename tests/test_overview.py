"""The results overview: aggregates on a tiny output folder built by hand, the page's
escaping and language, the hook into classify, and a render in a real headless browser."""

from __future__ import annotations

import csv
import hashlib
import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.codebook import Code, Codebook
from pipeline.reports.overview import ModelView, build_overview, render_overview, write_overview

# A code system with two parents: P (A, B) and Q (C).
CODEBOOK = Codebook(
    name="tiny",
    codes=(
        Code("P", "Parent P"), Code("A", "Alpha", parent="P", anchors=("Alpha anchor",)), Code("B", "Beta", parent="P"),
        Code("Q", "Parent Q"), Code("C", "Gamma", parent="Q"),
    ),
)
PARENT = {"A": "P", "B": "P", "C": "Q"}
TINY = ModelView(name="tiny", codebook=CODEBOOK, thresholds={"A": 0.5, "B": 0.5, "C": 0.5})

# Per document: (role, codable, codes, scores A/B/C, source text of the segment). The
# interviewer segment is not codable and does not count as a neighbour.
DOCS = {
    "d1": [
        ("respondent", True, ["A"], (0.9, 0.1, 0.2), "Alpha hier (lacht)."),
        ("interviewer", False, [], None, "Und dann?"),
        ("respondent", True, ["A", "B"], (0.6, 0.7, 0.1), "Alpha und Beta."),
        ("respondent", True, [], (0.45, 0.2, 0.3), "Nichts davon."),
        ("respondent", True, ["C"], (0.2, 0.1, 0.8), "<script>alert('x')</script> & Gamma"),
        ("respondent", True, [], (0.1, 0.1, 0.1), "Wieder nichts."),
    ],
    "d2": [
        ("respondent", True, ["C"], (0.3, 0.2, 0.55), "Gamma allein."),
        ("respondent", True, ["A", "C"], (0.95, 0.3, 0.9), "Alpha mit Gamma."),
    ],
}


def cleaned(text: str) -> str:
    return text.replace(" (lacht)", "")


def write_folder(folder: Path, *, sources: bool = True) -> list[Path]:
    """Classify outputs as autocode writes them: <stem>.jsonl, <stem>.meta.json, and the
    source text the offsets point into."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for doc, rows in DOCS.items():
        source, records = "", []
        for i, (role, codable, codes, scores, text) in enumerate(rows):
            start = len(source)
            source += text
            records.append({
                "id": f"{doc}:{i:04d}", "transcript": doc, "start": start, "end": len(source),
                "speaker": "I" if role == "interviewer" else "B", "role": role, "codable": codable,
                "text": cleaned(text), "codes": codes, "parent_codes": sorted({PARENT[c] for c in codes}),
                "scores": dict(zip("ABC", scores)) if scores else {}, "model": "tiny",
            })  # fmt: skip
            source += "\n"
        src = folder / "src" / f"{doc}.txt"
        if sources:
            src.parent.mkdir(exist_ok=True)
            src.write_text(source, encoding="utf-8")
        out = folder / f"{doc}.jsonl"
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        meta = {"source": str(src), "source_sha256": hashlib.sha256(source.encode()).hexdigest(), "model_fingerprint": ""}
        out.with_name(f"{doc}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
        paths.append(out)
    return paths


@pytest.fixture
def tiny(tmp_path):
    return build_overview(write_folder(tmp_path / "out"), model=TINY, window=1)


def test_matrix_counts_segments_codes_and_parents(tiny):
    by_doc = {d.document: d for d in tiny.documents}
    assert (by_doc["d1"].segments, by_doc["d1"].codable) == (6, 5)
    assert by_doc["d1"].counts == {"P": 2, "A": 2, "B": 1, "Q": 1, "C": 1}
    assert by_doc["d2"].counts == {"P": 1, "A": 1, "B": 0, "Q": 2, "C": 2}
    assert tiny.ids == ("P", "A", "B", "Q", "C")


def test_cooccurrence_same_segment_and_window(tiny):
    ix = {c: i for i, c in enumerate(tiny.ids)}

    def same(a, b):
        return int(tiny.same[ix[a], ix[b]])

    def near(a, b):
        return int(tiny.near[ix[a], ix[b]])

    assert same("A", "B") == same("B", "A") == 1
    assert same("A", "C") == 1 and same("B", "C") == 0
    assert same("A", "A") == 3 and same("P", "Q") == 1
    # Window 1 over codable segments: d1 reads [A] [A,B] [] [C] [] (the interviewer is
    # skipped), d2 reads [C] [A,C]. A's segments with B nearby: d1 #1 (next) and #2 (same).
    assert near("A", "B") == 2
    assert near("B", "A") == 1
    # C in d1 has only uncoded neighbours; in d2 both C segments have A at most one away.
    assert near("C", "A") == 2 and near("A", "C") == 1
    assert near("C", "C") == 3 and near("Q", "P") == 2


def test_window_zero_equals_same_segment(tmp_path):
    ov = build_overview(write_folder(tmp_path / "out"), model=TINY, window=0)
    np.testing.assert_array_equal(ov.near, ov.same)


def test_top_and_borderline_examples(tiny):
    a = next(cv for cv in tiny.codes if cv.code.id == "A")
    words = [tiny.segments[e.segment].words for e in a.top]
    assert [e.score for e in a.top] == [0.95, 0.9, 0.6, 0.45, 0.3, 0.2, 0.1]
    assert words[:2] == ["Alpha mit Gamma.", "Alpha hier (lacht)."]
    # Borderline means near the threshold 0.5 (within BORDER = 0.1): 0.9 and 0.95 are coded
    # with confidence however few segments carry the code, and 0.3 is clearly not coded.
    assert [e.score for e in a.above] == [0.6]
    assert [e.score for e in a.below] == [0.45]
    c = next(cv for cv in tiny.codes if cv.code.id == "C")
    assert [e.score for e in c.above] == [0.55] and c.below == []
    assert a.coded == 3 and a.threshold == 0.5


def test_examples_show_the_transcripts_own_words(tiny):
    seg = next(s for s in tiny.segments if s.id == "d1:0000")
    assert seg.words == "Alpha hier (lacht)." and seg.text == "Alpha hier." and seg.original
    assert (seg.document, seg.index, seg.speaker, seg.role) == ("d1", 0, "B", "respondent")


def test_missing_source_falls_back_to_cleaned_text(tmp_path):
    ov = build_overview(write_folder(tmp_path / "out", sources=False), model=TINY)
    seg = next(s for s in ov.segments if s.id == "d1:0000")
    assert seg.words == "Alpha hier." and not seg.original
    assert "source_missing:d1" in ov.warnings
    assert "Quelle von d1, d2 nicht gefunden" in render_overview(ov)


def test_page_escapes_segment_text_and_loads_nothing(tiny):
    page = render_overview(tiny)
    # Jinja2's autoescape writes the quote as &#39;.
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Gamma" in page
    assert page.count("<script") == 1  # the page's own filter script only
    assert not re.search(r"""(src|href)\s*=|@import|url\(|https?://""", page)
    assert "default-src 'none'" in page


def test_language_switch(tiny):
    de, en = render_overview(tiny), render_overview(tiny, lang="en")
    assert "<html lang='de'>" in de and "Ergebnisübersicht" in de and "Höchste Scores" in de
    assert "<html lang='en'>" in en and "Results overview" in en and "Highest scores" in en
    with pytest.raises(ValueError, match="lang must be one of de, en"):
        render_overview(tiny, lang="fr")


class Table(HTMLParser):
    """Header codes and body rows of the table with id code-matrix (counts only)."""

    def __init__(self):
        super().__init__()
        self.inside, self.part, self.cols, self.rows, self.cell, self.in_count = False, "", [], [], None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.inside = a.get("id") == "code-matrix"
        elif self.inside and tag in ("thead", "tbody", "tfoot"):
            self.part = tag
        elif self.inside and tag == "tr" and self.part == "tbody":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = {"col": a.get("data-col"), "text": ""}
        elif self.inside and tag == "small" and self.cell is not None:
            self.cell["skip"] = True

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            if self.part == "thead" and self.cell["col"]:
                self.cols.append(self.cell["col"])
            elif self.part == "tbody":
                self.rows[-1].append(self.cell["text"].strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None and not self.cell.get("skip"):
            self.cell["text"] += data


def matrix_of(page: str) -> dict[str, dict[str, str]]:
    t = Table()
    t.feed(page)
    return {row[0]: {"segments": row[1], **dict(zip(t.cols, row[3:]))} for row in t.rows}


def test_matrix_table_holds_the_counts(tiny):
    m = matrix_of(render_overview(tiny))
    assert m["d1"] == {"segments": "6", "P": "2", "A": "2", "B": "1", "Q": "1", "C": "1"}
    assert m["d2"]["Q"] == "2"


def test_write_overview_is_atomic_and_prefers_summary(tmp_path):
    out = tmp_path / "out"
    write_folder(out)
    (out / "summary.csv").write_text("transcript,segments,A,B,C,P,Q\nd2,2,1,0,2,1,2\n", encoding="utf-8")
    target, ov = write_overview(out, model=TINY)
    assert target == out / "overview.html" and [d.document for d in ov.documents] == ["d2"]
    assert not list(out.glob(".overview.html.*"))


def test_overview_command_refuses_a_folder_without_outputs(tmp_path):
    res = CliRunner().invoke(app, ["overview", str(tmp_path)])
    assert res.exit_code == 2 and "no classify output in the folder" in res.output
    res = CliRunner().invoke(app, ["overview", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "is not a folder" in res.output


# --------------------------------------------------------------------------- the sample corpus


@pytest.fixture(scope="module")
def sample(tmp_path_factory, repo):
    """The sample corpus coded with the default model, through the CLI."""
    out = tmp_path_factory.mktemp("sample") / "out"
    res = CliRunner().invoke(app, ["classify", str(repo / "corpus" / "transcripts"), "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    return out


def summary_of(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "summary.csv", encoding="utf-8") as fh:
        return {r.pop("transcript"): r for r in csv.DictReader(fh)}


@pytest.mark.slow
def test_classify_writes_overview_equal_to_summary(sample):
    page = (sample / "overview.html").read_text(encoding="utf-8")
    assert matrix_of(page) == summary_of(sample)
    assert len(matrix_of(page)) == 8


@pytest.mark.slow
def test_overview_command_recreates_page_in_english(sample, tmp_path):
    target = tmp_path / "en.html"
    res = CliRunner().invoke(app, ["overview", str(sample), "--lang", "en", "--out", str(target)])
    assert res.exit_code == 0, res.output
    page = target.read_text(encoding="utf-8")
    assert "Results overview" in page and matrix_of(page) == summary_of(sample)
    # The default model is a joint model whose fast and hybrid members read words: the
    # page lists them (docs/overview.md), it does not say the model has none.
    assert "no word features" not in page and page.count("<ul class='terms'>") == 14
    res = CliRunner().invoke(app, ["overview", str(sample), "--lang", "fr"])
    assert res.exit_code == 2 and "expected one of de, en" in res.output


@pytest.mark.slow
def test_failed_overview_keeps_outputs_and_exits_1(repo, tmp_path, monkeypatch):
    import pipeline.reports.overview

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline.reports.overview, "build_overview", broken)
    out = tmp_path / "out"
    out.mkdir()
    (out / "overview.html").write_text("stale", encoding="utf-8")
    res = CliRunner().invoke(app, ["classify", str(repo / "corpus" / "transcripts" / "int06_ministerium.txt"), "--out", str(out), "-q"])
    assert res.exit_code == 1
    assert "coded outputs" in res.output and "disk on fire" in res.output and "autocode overview" in res.output
    assert (out / "int06_ministerium.jsonl").is_file() and (out / "summary.csv").is_file()
    assert not (out / "overview.html").exists()


# --------------------------------------------------------------------------- in a real browser

PROBE = r"""
<script>
(function(){
 function vis(el){return el.getClientRects().length>0;}
 function q(s){return Array.prototype.slice.call(document.querySelectorAll(s));}
 function shown(){return q('ol.examples li').filter(vis);}
 function docs(list){var d={};list.forEach(function(li){d[li.getAttribute('data-doc')]=1;});return Object.keys(d).sort();}
 var out={width:window.innerWidth};
 var t=document.getElementById('code-matrix');
 out.cols=q('#code-matrix thead th').map(function(th){return th.getAttribute('data-col');});
 out.rows=Array.prototype.map.call(t.tBodies[0].rows,function(tr){
   return Array.prototype.map.call(tr.cells,function(c){var n=c.querySelector('.n');return (n||c).textContent.trim();});});
 var form=document.getElementById('filters');
 function set(name,value){form[name].value=value;form[name].dispatchEvent(new Event('change',{bubbles:true}));}
 out.before={n:shown().length,docs:docs(shown()),rows:q('#code-matrix tbody tr').filter(vis).length};
 set('doc','2');
 out.doc={n:shown().length,docs:docs(shown()),rows:q('#code-matrix tbody tr').filter(vis).length};
 set('doc','');set('code','MOT');
 out.code=q('section.code').filter(vis).map(function(s){return s.id;});
 set('code','');set('lo','0.9');
 out.scores=shown().map(function(li){return +li.getAttribute('data-score');});
 set('lo','0');
 // Nothing may stick out of its frame: no horizontal page scroll, no scrolling frame,
 // no element whose content is wider or taller than its box, or that leaves its parent.
 out.pageScroll=document.documentElement.scrollWidth-window.innerWidth;
 out.frames=q('.frame').map(function(f){return f.scrollWidth-f.clientWidth;});
 out.bad=[];
 q('main *').forEach(function(el){
  if(!vis(el))return;var cs=getComputedStyle(el);if(cs.display==='inline'||el.tagName==='OPTION')return;
  var name=el.tagName+(el.id?'#'+el.id:'')+(el.className?'.'+el.className:'');
  if(cs.overflowX==='visible'&&el.clientWidth&&el.scrollWidth>el.clientWidth+1)out.bad.push(name+' content wider');
  if(cs.overflowY==='visible'&&el.clientHeight&&el.scrollHeight>el.clientHeight+1)out.bad.push(name+' content taller');
  var p=el.parentElement,r=el.getBoundingClientRect(),pr=p.getBoundingClientRect();
  if(getComputedStyle(p).overflowX==='visible'&&(r.right>pr.right+1||r.left<pr.left-1))out.bad.push(name+' leaves its parent');
 });
 var pre=document.createElement('pre');pre.id='probe';pre.textContent=JSON.stringify(out);document.body.appendChild(pre);
})();
</script>
"""


def _chromium() -> str | None:
    return next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="no chromium binary (apt-get install -y chromium)")
def test_overview_in_headless_chromium(sample, tmp_path):
    page = (sample / "overview.html").read_text(encoding="utf-8")
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    base = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900"]
    dom = subprocess.run([*base, "--dump-dom", probe_page.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe did not run: " + dom[-500:]
    probe = json.loads(html.unescape(found.group(1)))
    assert probe["width"] == 1280

    # The matrix the browser shows is summary.csv.
    cols = [c for c in probe["cols"] if c]
    shown = {row[0]: {"segments": row[1], **dict(zip(cols, row[3:]))} for row in probe["rows"]}
    assert shown == summary_of(sample)

    # Filters change what is shown, and show what they say.
    assert probe["before"]["rows"] == 8 and len(probe["before"]["docs"]) > 1
    assert probe["doc"] == {"n": probe["doc"]["n"], "docs": ["2"], "rows": 1} and probe["doc"]["n"] > 0
    assert probe["doc"]["n"] < probe["before"]["n"]
    assert probe["code"] == [f"code-MOT-{c}" for c in ("AUSTAUSCH", "KOMPETENZ", "MARKT", "NAEHE", "FOERDERUNG", "EUROPA")]
    assert probe["scores"] and min(probe["scores"]) >= 0.9

    # Nothing overflows its frame at 1280 px.
    assert probe["pageScroll"] <= 0
    assert max(probe["frames"]) <= 0
    assert probe["bad"] == [], probe["bad"][:10]

    shot = tmp_path / "shot.png"
    subprocess.run([*base, f"--screenshot={shot}", (sample / "overview.html").as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


@pytest.mark.slow
def test_lexical_model_lists_its_heaviest_words(repo, tmp_path):
    """A model with the lexical block (the fast preset, configs/fast.yaml) lists per code
    the words that weigh most; MOT-EUROPA's include 'europa'."""
    from pipeline.learn.model import load_model
    from pipeline.learn.terms import lexical_terms

    path = repo / "configs" / "fast.yaml"
    res = CliRunner().invoke(app, ["train", str(repo / "corpus" / "codings.jsonl"), "--coder", "A", "--config", str(path),
                                   "--no-cv", "--out", str(tmp_path / "model")])
    assert res.exit_code == 0, res.output
    terms = lexical_terms(load_model(tmp_path / "model"))
    assert set(terms) == set(load_model(tmp_path / "model").codes)
    assert any("europa" in w.lower() for w, _ in terms["MOT-EUROPA"])
    assert all(v > 0 for w, v in terms["MOT-EUROPA"])


# --------------------------------------------------------------------------- issue 31, finding 4


def _examples_of(page: str) -> list[dict]:
    """Every example on the page: its list, code, score, document, position and characters."""
    out = []
    for sec in re.finditer(r"<section class='code' id='code-([^']+)'.*?</section>", page, re.S):
        code = sec.group(1)
        heads = [(m.start(), m.group(1)) for m in re.finditer(r"<h4>([^<]*)</h4>", sec.group(0))]
        for li in re.finditer(r"<li class='(?:yes|no)'[^>]*data-score='([0-9.]+)'[^>]*><div class='meta'><b>[^<]*</b> · ([^·]+) · ([^·]+) · ([^·]+) ·", sec.group(0)):
            head = [h for at, h in heads if at < li.start()][-1]
            out.append({"code": code, "list": html.unescape(head), "score": float(li.group(1)), "document": li.group(2).strip(),
                        "pos": html.unescape(li.group(3).strip()), "chars": html.unescape(li.group(4).strip())})
    return out


@pytest.mark.slow
def test_overview_of_classified_transcripts_numbers_words_and_borderline(sample_classified, tmp_path):
    """What a researcher read in the German overview of their classify output: segment
    numbers as in the ids, the default model's words under "Warum", and borderline lists
    that hold only scores near the threshold."""
    from pipeline.defaults import model_dir
    from pipeline.learn.model import load_model
    from pipeline.reports.overview import BORDER

    _, _, out = sample_classified
    target = tmp_path / "o.html"
    res = CliRunner().invoke(app, ["overview", str(out), "--out", str(target)])
    assert res.exit_code == 0, res.output
    page = target.read_text(encoding="utf-8")
    records = {}
    for f in out.glob("*.jsonl"):
        for line in f.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            records[(r["transcript"], r["start"], r["end"])] = r
    examples = _examples_of(page)
    assert len(examples) > 50
    for ex in examples:
        a, b = re.fullmatch(r"Zeichen (\d+)–(\d+)", ex["chars"]).groups()
        rec = records[(ex["document"], int(a), int(b))]
        number, last = re.fullmatch(r"Segment (\d+) \(Segmente 0–(\d+)\)", ex["pos"]).groups()
        assert rec["id"] == f"{ex['document']}:{int(number):04d}"  # :0007 is segment 7
        assert int(last) == sum(k[0] == ex["document"] for k in records) - 1
    model = load_model(model_dir())
    thresholds = dict(zip(model.codes, model.classifier.thresholds_))
    border = [ex for ex in examples if ex["list"].startswith("Grenzfälle")]
    assert border, "no borderline examples at all"
    for ex in border:
        assert abs(ex["score"] - thresholds[ex["code"]]) <= BORDER + 1e-4, ex
    assert "Grenzfälle: Score höchstens 0,10 von der Schwelle" in page
    assert page.count("<ul class='terms'>") == 14 and "keine Wortmerkmale" not in page
