"""The review workbench (``autocode review``): its store, its API and its safety, through
the command line, the HTTP API and the library, on the small projects of review_fixtures."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from review_fixtures import INTERVIEWS, make_trained, truth, write_material
from starlette.testclient import TestClient
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.review.serve import prepare
from pipeline.review.server import MAX_BODY, create_app
from pipeline.review.store import Project
from pipeline.text.codings import read_hand_codes

PORT = 8765


def client_for(project: Project, *, token: bool = True, **kwargs) -> TestClient:
    headers = {"Authorization": f"Bearer {project.token}"} if token else {}
    return TestClient(create_app(project, port=PORT, **kwargs), base_url=f"http://127.0.0.1:{PORT}", headers=headers)


@pytest.fixture
def material(tmp_path):
    return write_material(tmp_path)


@pytest.fixture
def project(tmp_path, material):
    texts, book = material
    done = prepare(tmp_path / "proj", texts=[texts], codebook=book, model="none")
    yield done.project
    done.project.close()


def codable(project: Project) -> list[sqlite3.Row]:
    return project.con.execute(
        "SELECT s.id, s.text FROM segments s JOIN documents d ON d.id = s.document WHERE s.codable = 1 ORDER BY d.name, s.n"
    ).fetchall()


# --- the project folder ----------------------------------------------------------------------


def test_review_makes_the_project_then_adds_hand_codes_and_exports_them(tmp_path, material):
    texts, book = material
    folder = tmp_path / "proj"
    runner = CliRunner()
    made = runner.invoke(app, ["review", str(folder), "--texts", str(texts), "--codebook", str(book), "--model", "none", "--no-serve"])
    assert made.exit_code == 0, made.output
    assert "added 3 document(s)" in made.output
    # A coder's hand codes in the units format, added on a later call.
    project = Project(folder)
    rows = codable(project)
    project.close()
    coded = tmp_path / "B.jsonl"
    coded.write_text("".join(json.dumps({"id": r["id"].split(":")[1], "document": r["id"].split(":")[0], "text": r["text"],
                                         "codes": truth(r["text"]), "coder": "B"}) + "\n" for r in rows[:6]), encoding="utf-8")
    added = runner.invoke(app, ["review", str(folder), "--codings", str(coded), "--no-serve"])
    assert added.exit_code == 0, added.output
    assert "added 6 hand-coded decision(s)" in added.output
    out = tmp_path / "codings.jsonl"
    exported = runner.invoke(app, ["review", str(folder), "--export", str(out)])
    assert exported.exit_code == 0, exported.output
    units = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(u["id"], u["codes"], u["coder"], u["assisted"]) for u in units] == [
        (r["id"], truth(r["text"]), "B", False) for r in rows[:6]
    ]
    # The same hand codes through the API.
    project = Project(folder)
    with client_for(project) as client:
        assert [json.loads(line) for line in client.get("/api/codings").text.splitlines()] == units
    project.close()


def test_a_new_project_refuses_a_folder_of_other_files_and_a_model_of_other_codes(tmp_path, material):
    texts, book = material
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("meine Notizen", encoding="utf-8")
    result = CliRunner().invoke(app, ["review", str(tmp_path / "busy"), "--texts", str(texts), "--no-serve"])
    assert result.exit_code == 2
    assert "holds files but no project.sqlite" in result.output
    assert (tmp_path / "busy" / "notes.txt").read_text(encoding="utf-8") == "meine Notizen"
    # The shipped model codes the shipped code system, not this one.
    from pipeline.defaults import model_dir

    result = CliRunner().invoke(app, ["review", str(tmp_path / "p2"), "--texts", str(texts), "--codebook", str(book),
                                      "--model", str(model_dir()), "--no-serve"])
    assert result.exit_code == 1
    assert "expected the same codes" in result.output


@pytest.mark.parametrize("content", [b"not a database at all, just words", b"SQLite format 3\x00" + b"\x00" * 200])
def test_a_damaged_or_foreign_database_gives_a_clear_error_and_is_not_changed(tmp_path, content):
    folder = tmp_path / "proj"
    folder.mkdir()
    db = folder / "project.sqlite"
    db.write_bytes(content)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    result = CliRunner().invoke(app, ["review", str(folder), "--no-serve"])
    assert result.exit_code == 1
    assert "expected an autocode review project" in result.output
    assert "Traceback" not in result.output
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in folder.iterdir()) == ["project.sqlite"]


def test_a_sqlite_database_of_another_program_is_refused(tmp_path):
    folder = tmp_path / "proj"
    folder.mkdir()
    con = sqlite3.connect(folder / "project.sqlite")
    con.execute("CREATE TABLE notes (body TEXT)")
    con.commit()
    con.close()
    result = CliRunner().invoke(app, ["review", str(folder), "--no-serve"])
    assert result.exit_code == 1
    assert "of another program" in result.output


# --- decisions, undo, queues -----------------------------------------------------------------


def test_decisions_undo_and_history(project):
    rows = codable(project)
    with client_for(project) as client:
        first = client.get("/api/next", params={"coder": "A", "queue": "document"}).json()
        assert first["segment"] == rows[0]["id"]
        assert first["text"] == rows[0]["text"]
        assert "proposals" not in first  # no model yet
        seen = [first["segment"]]
        view = first
        for _ in range(3):
            answer = client.post("/api/decisions", json={"segment": view["segment"], "coder": "A", "codes": truth(view["text"]),
                                                        "proposals_shown": False})
            assert answer.status_code == 201
            view = answer.json()["next"]
            seen.append(view["segment"])
        assert seen == [r["id"] for r in rows[:4]]
        history = client.get("/api/history", params={"coder": "A"}).json()["history"]
        assert [h["segment"] for h in history] == [r["id"] for r in rows[:3]][::-1]
        undone = client.post("/api/undo", json={"coder": "A"}).json()
        assert undone["undone"]["segment"] == rows[2]["id"]
        assert undone["next"]["segment"] == rows[2]["id"]
        # The undone segment is open again, the others stay decided.
        assert client.get("/api/next", params={"coder": "A"}).json()["segment"] == rows[2]["id"]
        units = [json.loads(line) for line in client.get("/api/codings").text.splitlines()]
        assert [u["id"] for u in units] == [r["id"] for r in rows[:2]]
        # Another coder's queue is their own.
        assert client.get("/api/next", params={"coder": "B"}).json()["segment"] == rows[0]["id"]


def test_a_skipped_segment_is_no_code_and_leaves_the_queue(project):
    rows = codable(project)
    with client_for(project) as client:
        answer = client.post("/api/decisions", json={"segment": rows[0]["id"], "coder": "A", "codes": [], "skip": True,
                                                    "proposals_shown": False})
        assert answer.json()["next"]["segment"] == rows[1]["id"]
        assert client.get("/api/codings").text == ""


def test_bad_decisions_are_refused_with_a_message(project):
    rows = codable(project)
    with client_for(project) as client:
        unknown_segment = client.post("/api/decisions", json={"segment": "int_z:0001", "coder": "A", "codes": [], "proposals_shown": False})
        assert unknown_segment.status_code == 400
        assert "unknown segment 'int_z:0001'" in unknown_segment.json()["error"]
        unknown_code = client.post("/api/decisions", json={"segment": rows[0]["id"], "coder": "A", "codes": ["MARKTT"], "proposals_shown": False})
        assert unknown_code.status_code == 422
        assert "unknown code(s) 'MARKTT'" in unknown_code.json()["error"] and "MARKT" in unknown_code.json()["error"]
        no_flag = client.post("/api/decisions", json={"segment": rows[0]["id"], "coder": "A", "codes": []})
        assert no_flag.status_code == 400 and "proposals_shown" in no_flag.json()["error"]
        bad_coder = client.get("/api/next", params={"coder": "<b>x</b>"})
        assert bad_coder.status_code == 400
        interviewer = project.con.execute("SELECT id FROM segments WHERE codable = 0").fetchone()["id"]
        refused = client.post("/api/decisions", json={"segment": interviewer, "coder": "A", "codes": [], "proposals_shown": False})
        assert refused.status_code == 400 and "not coded" in refused.json()["error"]
        not_json = client.post("/api/decisions", content=b"codes=MARKT", headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert not_json.status_code == 400
        assert client.get("/api/codings").text == ""


# --- safety ------------------------------------------------------------------------------------


def test_every_request_without_the_token_is_refused(project):
    with client_for(project, token=False) as client:
        for path in ("/", "/static/app.js", "/static/app.css", "/api/next?coder=A", "/api/status", "/api/codings", "/api/audit.csv"):
            assert client.get(path).status_code == 401, path
        assert client.get("/", params={"token": "wrong"}).status_code == 401
        assert client.post("/api/decisions", json={}).status_code == 401
        assert client.get("/", params={"token": project.token}).status_code == 200
        assert client.get("/static/app.js", headers={"Authorization": f"Bearer {project.token}"}).status_code == 200


def test_host_origin_size_and_path_checks(project):
    with client_for(project) as client:
        # DNS rebinding: a page of another name that resolves to this machine.
        assert client.get("/api/status", headers={"Host": f"evil.example:{PORT}"}).status_code == 403
        # CSRF: a state-changing request from another site.
        forged = client.post("/api/train", json={}, headers={"Origin": "http://evil.example"})
        assert forged.status_code == 403
        assert client.post("/api/train", json={}, headers={"Origin": f"http://127.0.0.1:{PORT}"}).status_code == 200
        big = client.post("/api/decisions", content=b"{" + b" " * (MAX_BODY + 1) + b"}", headers={"Content-Type": "application/json"})
        assert big.status_code == 413
        assert client.get("/static/..%2Fstore.py").status_code == 404
        assert client.get("/static/page.html.j2").status_code == 404
        page = client.get("/")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "no-referrer"
        assert "set-cookie" not in page.headers


def test_the_server_listens_on_loopback_by_default():
    import inspect

    from pipeline.cli.review import review

    assert inspect.signature(review).parameters["host"].default == "127.0.0.1"


# --- proposals, blind coding, the audit ---------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A project whose coder T decided every segment, with a model trained on it by the worker."""
    project = make_trained(tmp_path_factory.mktemp("trained"))
    yield project
    project.close()


@pytest.mark.slow
def test_the_trained_model_proposes_what_the_coder_taught_it(trained):
    row = trained.current_model()
    assert row["name"] == "v1" and row["status"] == "ready"
    assert (trained.folder / "models" / "v1" / "model.json").is_file()
    hits = [trained.view(r["id"], "U", blind=False) for r in codable(trained)]
    right = sum(sorted(v["proposals"]) == truth(v["text"]) for v in hits)
    assert right >= 0.8 * len(hits)
    assert json.loads(trained.con.execute("SELECT cv FROM models WHERE id = ?", (row["id"],)).fetchone()[0])["micro_f1"] > 0.5


@pytest.mark.slow
def test_blind_coding_shows_no_proposals_and_no_other_coder(trained):
    with client_for(trained) as client:
        blind = client.get("/api/next", params={"coder": "U", "queue": "document", "blind": 1}).json()
        assert "proposals" not in blind and "scores" not in blind and "others" not in blind
        seen = client.get("/api/next", params={"coder": "U", "queue": "document", "blind": 0}).json()
        assert seen["segment"] == blind["segment"]
        assert set(seen["proposals"]) == set(truth(seen["text"])) or seen["proposals"] is not None
        assert seen["others"] == {"T": truth(seen["text"])}
        refused = client.get("/api/next", params={"coder": "U", "queue": "code:MARKT", "blind": 1})
        assert refused.status_code == 400 and "cannot be coded blind" in refused.json()["error"]


@pytest.mark.slow
def test_check_one_code_queue_goes_by_score(trained):
    with client_for(trained) as client:
        scores = []
        for _ in range(4):
            view = client.get("/api/next", params={"coder": "K", "queue": "code:SPRACHE"}).json()
            if view["segment"] is None:
                break
            assert "SPRACHE" in view["proposals"]
            scores.append(view["scores"]["SPRACHE"])
            client.post("/api/decisions", json={"segment": view["segment"], "coder": "K", "codes": ["SPRACHE"],
                                                "proposals_shown": True, "model": view["model"]["id"], "queue": "code:SPRACHE", "next": False})
        assert len(scores) >= 3 and scores == sorted(scores, reverse=True)


@pytest.mark.slow
def test_the_audit_counts_accepted_corrected_and_rejected_proposals(trained, tmp_path):
    import csv

    def totals(text):
        rows = list(csv.DictReader(text.splitlines()))
        whole = next((r for r in rows if r["code"] == "*"), {"decisions": 0, "unchanged": 0})
        return (int(whole["decisions"]), int(whole["unchanged"]),
                *(sum(int(r[k]) for r in rows if r["code"] != "*") for k in ("accepted", "rejected", "added")))

    with client_for(trained) as client:
        before = totals(client.get("/api/audit.csv").text)  # earlier tests of the module decided with proposals too
        coder = "audit"
        made = {"unchanged": 0, "accepted": 0, "rejected": 0, "added": 0}
        for k in range(6):
            view = client.get("/api/next", params={"coder": coder, "queue": "document"}).json()
            proposed = set(view["proposals"])
            codes = set(proposed)
            if k % 2:  # correct it: drop one proposed code or add one
                if proposed:
                    codes.discard(sorted(proposed)[0])
                else:
                    codes.add("FOERDER")
            made["unchanged"] += codes == proposed
            made["accepted"] += len(codes & proposed)
            made["rejected"] += len(proposed - codes)
            made["added"] += len(codes - proposed)
            client.post("/api/decisions", json={"segment": view["segment"], "coder": coder, "codes": sorted(codes),
                                                "proposals_shown": True, "model": view["model"]["id"], "next": False})
        text = client.get("/api/audit.csv").text
    after = totals(text)
    assert [a - b for a, b in zip(after, before)] == [6, made["unchanged"], made["accepted"], made["rejected"], made["added"]]
    assert made["unchanged"] < 6 and made["rejected"] + made["added"] > 0
    out = tmp_path / "audit.csv"
    result = CliRunner().invoke(app, ["review", str(trained.folder), "--audit", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == text


@pytest.mark.slow
def test_agreement_on_a_project_counts_blind_decisions_only(trained, tmp_path):
    rows = codable(trained)
    for r in rows:
        trained.decide(r["id"], "blind2", truth(r["text"]), proposals_shown=False)
        trained.decide(r["id"], "helped", ["MARKT"], proposals_shown=True, model=trained.current_model()["id"])
    out = tmp_path / "a.json"
    result = CliRunner().invoke(app, ["agreement", str(trained.folder), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "decisions were made with the model's proposals shown (assisted) and are left out" in result.output
    hand = read_hand_codes([trained.folder], assisted=False)
    assert "helped" not in hand.coders and {"T", "blind2"} <= set(hand.coders)
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert "helped" not in json.dumps(figures["coders"] if "coders" in figures else figures)
    with_assisted = CliRunner().invoke(app, ["agreement", str(trained.folder), "--json", str(out), "--include-assisted"])
    assert with_assisted.exit_code == 0, with_assisted.output
    assert "helped" in out.read_text(encoding="utf-8")


def test_train_reads_the_project_folder_as_hand_codes(project):
    rows = codable(project)
    for r in rows[:5]:
        project.decide(r["id"], "A", truth(r["text"]), proposals_shown=False)
    project.decide(rows[1]["id"], "A", [], proposals_shown=False)  # a later decision replaces the earlier
    hand = read_hand_codes([project.folder])
    assert hand.coders == ("A",)
    assert hand.coverage["A"] == {"int_a": frozenset(r["id"] for r in rows[:5])}
    spans = sorted((c.start, c.code) for c in hand.codings)
    starts = {r["id"]: project.segment(r["id"])["start"] for r in rows[:5]}
    assert spans == sorted((starts[r["id"]], code) for r in rows[:5] if r["id"] != rows[1]["id"] for code in truth(r["text"]))


# --- a killed server loses nothing -----------------------------------------------------------


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "review", str(folder), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    line = proc.stdout.readline()
    assert line.startswith("autocode review: http://127.0.0.1:"), line
    return proc, line.split(": ", 1)[1].strip()


def test_sigkill_loses_no_acknowledged_decision_and_each_coder_continues(project):
    import httpx

    folder = project.folder
    rows = codable(project)
    project.close()
    proc, url = start_server(folder)
    base, token = url.split("/?token=")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            for coder, k in (("A", 4), ("B", 2)):
                view = client.get("/api/next", params={"coder": coder}).json()
                for _ in range(k):
                    r = client.post("/api/decisions", json={"segment": view["segment"], "coder": coder,
                                                            "codes": truth(view["text"]), "proposals_shown": False})
                    assert r.status_code == 201
                    view = r.json()["next"]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    proc, url = start_server(folder)
    try:
        with httpx.Client(base_url=url.split("/?token=")[0], headers=headers, timeout=30) as client:
            units = [json.loads(line) for line in client.get("/api/codings").text.splitlines()]
            assert sorted((u["coder"], u["id"]) for u in units) == sorted(
                [("A", r["id"]) for r in rows[:4]] + [("B", r["id"]) for r in rows[:2]])
            assert client.get("/api/next", params={"coder": "A"}).json()["segment"] == rows[4]["id"]
            assert client.get("/api/next", params={"coder": "B"}).json()["segment"] == rows[2]["id"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_printed_line_names_loopback_and_the_token(project):
    folder = project.folder
    token = project.token
    project.close()
    proc, url = start_server(folder)
    try:
        assert url.endswith(f"/?token={token}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_interview_material_is_segmented_as_autocode_segments_it(project):
    from pipeline.text.project import transcript_of
    from pipeline.text.segment import segment_transcript

    for row in project.con.execute("SELECT * FROM documents"):
        t = transcript_of(row)
        assert t.text == INTERVIEWS[row["name"]]
        expected = [(s.id, s.start, s.end, s.text, s.codable) for s in segment_transcript(t, config=project.config.segment)]
        stored = [tuple(r) for r in project.con.execute("SELECT id, start, end, text, codable FROM segments WHERE document = ? ORDER BY n", (row["id"],))]
        assert [(a, b, c, d, bool(e)) for a, b, c, d, e in stored] == expected


def test_a_coder_whose_decisions_are_all_no_code_is_learned_from(project):
    """A coder who found nothing to code in their segments still coded them: training on
    the project (as the background worker does, every coder pooled) must not refuse them."""
    from pipeline.learn.fit import build_training_set

    rows = codable(project)
    for r in rows[:8]:
        project.decide(r["id"], "A", truth(r["text"]), proposals_shown=False)
        project.decide(r["id"], "nothing", [], proposals_shown=False)
    hand = read_hand_codes([project.folder])
    data = build_training_set(hand, codebook=project.codebook, config=project.config, coder=["A", "nothing"], combine="each")
    assert data.coders == ("A", "nothing")
    assert len(data.segments) == 16


def test_the_project_exports_its_hand_codes_as_qdpx_one_user_per_coder(project, tmp_path):
    rows = codable(project)
    for coder, part in (("A", rows[:6]), ("B", rows[3:9])):
        for r in part:
            project.decide(r["id"], coder, truth(r["text"]), proposals_shown=False)
    out = tmp_path / "hand.qdpx"
    result = CliRunner().invoke(app, ["review", str(project.folder), "--export", str(out)])
    assert result.exit_code == 0, result.output
    import zipfile

    from test_qda_export import validate

    with zipfile.ZipFile(out) as z:
        validate(z.read("project.qde"))  # the REFI-QDA project schema (skips where ../shared lacks it)
    back = CliRunner().invoke(app, ["import", str(out), "--out", str(tmp_path / "back")])
    assert back.exit_code == 0, back.output
    names = {c.id: c.name for c in project.codebook.codes}
    got = sorted(tuple(json.loads(line)[k] for k in ("document", "start", "end", "code", "coder"))
                 for line in (tmp_path / "back" / "codings.jsonl").read_text(encoding="utf-8").splitlines())
    want = sorted((s["document_name"], s["start"], s["end"], names[code], coder)
                  for coder, part in (("A", rows[:6]), ("B", rows[3:9])) for r in part
                  for s in [project.segment(r["id"])] for code in truth(r["text"]))
    assert got == want and {g[4] for g in got} == {"A", "B"}


@pytest.mark.slow
def test_the_agreement_page_counts_blind_decisions_and_says_how_many_it_left_out(trained):
    rows = codable(trained)
    for r in rows:
        trained.decide(r["id"], "second", truth(r["text"]), proposals_shown=False)
    trained.decide(rows[0]["id"], "third", ["MARKT"], proposals_shown=True, model=trained.current_model()["id"])
    with client_for(trained) as client:
        page = client.get("/agreement")
        assert page.status_code == 200
        assert "script-src" not in page.headers["content-security-policy"]
        assert "<script" not in page.text
        n = trained.con.execute("SELECT COUNT(*) FROM decisions WHERE proposals_shown = 1 AND undone = 0 AND id IN "
                                "(SELECT MAX(id) FROM decisions WHERE undone = 0 AND action = 'code' GROUP BY segment, coder)").fetchone()[0]
        assert f"nur blinde Entscheidungen ({n} von " in page.text
        assert "second" in page.text and "third" not in page.text
        everything = client.get("/agreement", params={"assisted": 1})
        assert "third" in everything.text


def test_undo_goes_back_ten_decisions_and_no_further(project):
    rows = codable(project)
    for r in rows[:12]:
        project.decide(r["id"], "A", truth(r["text"]), proposals_shown=False)
    undone = [project.undo("A") for _ in range(11)]
    assert [u["segment"] for u in undone[:10]] == [r["id"] for r in rows[2:12]][::-1]
    assert undone[10] is None
    assert [u["id"] for u in project.units()] == [r["id"] for r in rows[:2]]
    # A new decision opens the window again, for it alone.
    project.decide(rows[2]["id"], "A", [], proposals_shown=False)
    assert project.undo("A")["segment"] == rows[2]["id"]
    assert project.undo("A") is None


def test_commands_that_read_hand_codes_take_the_project_code_system(project, tmp_path):
    """No --codebook: a project's decisions are checked against its own code system, not
    against the shipped model's (whose codes they are not)."""
    rows = codable(project)
    for r in rows:
        project.decide(r["id"], "A", truth(r["text"]), proposals_shown=False)
    for r in rows[:8]:
        project.decide(r["id"], "B", truth(r["text"]), proposals_shown=False)
    out = tmp_path / "a.json"
    result = CliRunner().invoke(app, ["agreement", str(project.folder), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 codes" in result.output
    model = tmp_path / "m"
    trained = CliRunner().invoke(app, ["train", str(project.folder), "--out", str(model), "--config",
                                       str(Path(__file__).parents[1] / "configs" / "fast.yaml")])
    assert trained.exit_code == 0, trained.output
    assert (model / "codebook.yaml").read_text(encoding="utf-8").count("- id:") == 3
