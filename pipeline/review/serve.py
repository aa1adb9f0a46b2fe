"""``autocode review`` as a library: make or open a project, add what is given, serve it."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipeline.core.codebook import load_codebook
from pipeline.core.config import config_from_dict, load_config
from pipeline.core.errors import CodebookError, ModelError, ModelPathError, OutputError
from pipeline.review.store import Project
from pipeline.text.project import is_project

NO_MODEL = "none"


@dataclass
class Prepared:
    """What :func:`prepare` did: the open project and what it added."""

    project: Project
    created: bool
    documents: list[str] = field(default_factory=list)
    decisions: int = 0
    model: int | None = None
    notes: list[str] = field(default_factory=list)


def _model_meta(folder: Path) -> dict:
    """A model folder's model.json, read without loading its weights."""
    try:
        meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        meta["codebook"]["codes"] = tuple(meta["codebook"]["codes"])
        return meta
    except FileNotFoundError:
        raise ModelPathError(f"{folder}: no model.json; expected a model folder made by 'autocode train'. Check --model.") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{folder}/model.json is damaged ({exc}); expected a model folder made by 'autocode train'.") from None


def prepare(
    folder: str | Path,
    *,
    texts: Sequence[str | Path] = (),
    codings: Sequence[str | Path] = (),
    codebook: str | Path | None = None,
    model: str | Path | None = None,
) -> Prepared:
    """Open the project at ``folder``, or make it from what is given, and add ``texts``
    (transcripts in every format autocode reads) and ``codings`` (hand codes in every
    format ``train`` reads, as blind decisions of their coders).

    Args:
        codebook: The code system of a new project (default: the shipped one); an existing
            project keeps its own.
        model: A model whose proposals the coders see until the first model trained in the
            project is ready; :data:`NO_MODEL` for none. Default for a new project: the
            shipped model where it codes the project's code system.
    """
    from pipeline.defaults import codebook_path, model_dir

    folder = Path(folder)
    created = not is_project(folder)
    notes: list[str] = []
    if created:
        book = load_codebook(codebook or codebook_path())
        chosen = None
        if model is None:
            shipped = model_dir()
            if _model_meta(shipped)["codebook"]["codes"] == book.leaf_ids:
                chosen = shipped
            else:
                notes.append("the shipped model codes another code system: no proposals until the first model is trained here")
        elif str(model) != NO_MODEL:
            chosen = Path(model)
        if chosen is not None:
            codes = _model_meta(chosen)["codebook"]["codes"]
            if codes != book.leaf_ids:
                raise CodebookError(
                    f"model {chosen} codes {', '.join(codes)}, the code system {', '.join(book.leaf_ids)}: expected the same codes. "
                    "Give the model's code system with --codebook, or another model."
                )
            config = config_from_dict(yaml.safe_load((chosen / "config.yaml").read_text(encoding="utf-8")), where=str(chosen / "config.yaml"))
        else:
            config = load_config(None)
        if not texts and not codings:
            raise OutputError(f"{folder} is not a review project yet: a new project needs documents. Give --texts or --codings.")
        project = Project.create(folder, codebook=book, config=config)
    else:
        project = Project(folder)
        if codebook is not None and load_codebook(codebook).leaf_ids != project.codes:
            project.close()
            raise CodebookError(
                f"{folder} codes with its own code system ({', '.join(project.codes)}); --codebook {codebook} differs. "
                "A project keeps the code system it was made with: leave out --codebook, or make a new project."
            )
        chosen = None if model is None or str(model) == NO_MODEL else Path(model)
        if chosen is not None and _model_meta(chosen)["codebook"]["codes"] != project.codes:
            project.close()
            raise CodebookError(f"model {chosen} codes other codes than the project ({', '.join(project.codes)}). Give a model of this code system.")
    out = Prepared(project, created, notes=notes)
    try:
        if texts:
            out.documents = project.add_texts(texts)
        if codings:
            out.decisions = project.import_codings(codings, texts=texts)
        if chosen is not None:
            out.model = project.add_model(chosen.resolve(), name=str(_model_meta(chosen).get("name") or chosen.name), origin="given")
    except BaseException:
        project.close()
        raise
    return out


def export_qdpx(project: Project, out: str | Path):
    """The project's hand codes in force as a new REFI-QDA project: its documents, its code
    system and one user per coder, each segment's codes as selections of that coder."""
    from pipeline.qda.export import ClassifiedDocument, ModelCoding, export_documents
    from pipeline.text.project import CURRENT

    codings: dict[str, list] = {}
    for r in project.con.execute(CURRENT):
        for code in json.loads(r["codes"]):
            codings.setdefault(r["document"], []).append(
                ModelCoding(r["start"], r["end"], code, None, r["segment"], note=f"{r['coder']}: {code}", coder=r["coder"]))
    docs = [ClassifiedDocument(row["name"], row["text"], "review", str(project.folder), tuple(codings.get(row["name"], ())), "")
            for row in project.con.execute("SELECT name, text FROM documents ORDER BY name")]
    return export_documents(docs, out, codebook=project.codebook, model="review", project_name=project.codebook.name)


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def resume(app) -> list[int]:
    """Start again the work a stopped server left: models still 'training' or 'coding'
    whose worker is gone (a given model waits for its proposals; a training was cut off)."""
    project = app.state.trainer.project
    started = []
    for row in project.con.execute("SELECT * FROM models WHERE status IN ('training', 'coding') ORDER BY id").fetchall():
        if alive(row["pid"]):
            continue
        train = row["origin"] == "trained" and not (project.model_path(row) / "model.json").is_file()
        app.state.trainer.start(row["id"], train=train)
        started.append(row["id"])
        break  # one worker at a time; the next call of Trainer.maybe starts what is due
    return started


def bind(host: str, port: int) -> socket.socket:
    """A listening socket at ``host``:``port`` (0: a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: an answer's head and body are sent at once, not the
    # body held back until the client acknowledges the head (Nagle's algorithm meeting the
    # client's delayed acknowledgement costs some 40 ms per request).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise OutputError(f"cannot listen at {host}:{port} ({exc.strerror}). Choose another --port, or stop what uses it.") from None
    sock.listen(128)
    sock.set_inheritable(False)
    return sock


def url(host: str, port: int, token: str) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}/?token={token}"


def serve(app, sock: socket.socket) -> None:
    """Serve ``app`` on the bound socket until Ctrl-C or SIGTERM."""
    import uvicorn

    # No access log: the token travels in page URLs, and the log would keep it.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    server.run(sockets=[sock])
