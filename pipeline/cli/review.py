"""``autocode review``: code in the browser with the model's proposals (docs/review.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._app import HAND_CODE_FORMATS, INPUT_FORMATS, app, at_least_one, note, reports_errors


@app.command()
@reports_errors
def review(
    project: Annotated[Path, typer.Argument(help="The project folder: made on first use, opened afterwards.", metavar="PROJECT", show_default=False)],
    texts: Annotated[Optional[list[Path]], typer.Option("--texts", help=f"Transcripts to add (files or folders; {INPUT_FORMATS}). Repeatable.", metavar="PATH")] = None,
    codings: Annotated[Optional[list[Path]], typer.Option("--codings", help=f"Hand codes to add as their coders' decisions ({HAND_CODE_FORMATS}). Repeatable.", metavar="FILE")] = None,
    codebook: Annotated[Optional[Path], typer.Option(help="Code system (YAML) of a new project (default: the shipped one).", metavar="FILE")] = None,
    model: Annotated[Optional[str], typer.Option(help="Model whose proposals are shown until one is trained in the project (default: the shipped model where it codes the project's code system; 'none': no proposals).", metavar="MODEL")] = None,
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).", metavar="N")] = 8765,
    host: Annotated[str, typer.Option(help="Address to listen on. Other addresses than 127.0.0.1 let other computers reach the page (the token is still needed).", metavar="H")] = "127.0.0.1",
    lang: Annotated[str, typer.Option(help="Language of the page: de or en.", metavar="de|en")] = "de",
    retrain_every: Annotated[int, typer.Option("--retrain-every", help="Train a new model in the background after this many new decisions.", metavar="N", callback=at_least_one)] = 25,
    export: Annotated[Optional[Path], typer.Option("--export", help="Write the project's hand codes as units JSONL (.jsonl) or as a REFI-QDA project (.qdpx, one user per coder) and stop, without serving.", metavar="FILE")] = None,
    audit: Annotated[Optional[Path], typer.Option("--audit", help="Write, per model and code, how many proposals were accepted, corrected and rejected (.csv), and stop.", metavar="FILE")] = None,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the project (--no-serve: only make or update it).")] = True,
) -> None:
    """Code in the browser, with the model's proposals, and let every decision teach the model.

    Makes the project folder on first use from the transcripts (--texts), hand codes
    (--codings) and code system given, adds what is given on later calls, and serves it
    on this computer. Open the address it prints: one key per code, Enter accepts and
    moves on. A new model trains in the background after every --retrain-every decisions,
    exactly as 'autocode train' would; its proposals replace the old ones when it is
    ready. Every command that reads hand codes (train, evaluate, agreement, suggest)
    accepts the project folder; agreement counts blind decisions only.
    """
    import csv

    from pipeline.core.io import atomic_open, check_output_path, dumps_jsonl
    from pipeline.reports.templating import LANGUAGES
    from pipeline.review.serve import bind, prepare, resume, url
    from pipeline.review.serve import serve as run_server
    from pipeline.review.server import create_app

    if lang not in LANGUAGES:
        raise typer.BadParameter(f"expected one of {', '.join(LANGUAGES)}, found {lang!r}.", param_hint="--lang")
    if not 0 <= port <= 65535:
        raise typer.BadParameter(f"expected a port from 0 to 65535, found {port}.", param_hint="--port")
    for path, suffixes, option in ((export, (".jsonl", ".qdpx"), "--export"), (audit, (".csv",), "--audit")):
        if path is not None:
            check_output_path(path, kind="file", option=option, suffixes=suffixes)
    done = prepare(project, texts=texts or (), codings=codings or (), codebook=codebook, model=model)
    p = done.project
    try:
        if done.created:
            note(f"made the review project {project} ({len(p.codes)} codes)")
        for message in done.notes:
            note(message)
        if done.documents:
            note(f"added {len(done.documents)} document(s): {', '.join(done.documents)}")
        if done.decisions:
            note(f"added {done.decisions} hand-coded decision(s)")
        if export is not None and export.suffix.lower() == ".qdpx":
            from pipeline.review.serve import export_qdpx

            written = export_qdpx(p, export)
            note(f"wrote {export}: {written.sources} documents, {written.codings} codings")
        elif export is not None:
            with atomic_open(export, "w") as fh:
                fh.write(dumps_jsonl(p.units()))
            note(f"wrote {export}")
        if audit is not None:
            rows = p.audit()
            with atomic_open(audit, "w") as fh:
                writer = csv.DictWriter(fh, fieldnames=["model", "model_name", "code", "decisions", "unchanged", "accepted",
                                                        "rejected", "added", "precision"], lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
            note(f"wrote {audit}")
        if not serve or export is not None or audit is not None:
            return
        sock = bind(host, port)
        app = create_app(p, host=host, port=sock.getsockname()[1], lang=lang, retrain_every=retrain_every,
                         allowed_hosts=("*",) if host in ("0.0.0.0", "::") else None)
        if done.model is not None:
            app.state.trainer.start(done.model, train=False)
        else:
            resume(app)
        typer.echo(f"autocode review: {url(host, sock.getsockname()[1], p.token)}")
        sys.stdout.flush()
        run_server(app, sock)
    finally:
        p.close()
