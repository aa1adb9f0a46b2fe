"""``autocode benchmark review`` and ``review-speed``: the workbench measured (docs/review.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._app import at_least_one, note, reports_errors
from pipeline.cli.benchmark import benchmark_app
from pipeline.core.io import check_output_path


@benchmark_app.command()
@reports_errors
def review(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for review-simulation.json and .md, and the projects.", metavar="FOLDER")],
    corpus: Annotated[Path, typer.Option(help="The sample corpus folder (transcripts/ and codings.jsonl).", metavar="FOLDER")] = Path("corpus"),
    coder: Annotated[str, typer.Option(help="Whose hand codes play the researcher.", metavar="NAME")] = "A",
    decisions: Annotated[int, typer.Option(help="Decisions per order.", metavar="N", callback=at_least_one)] = 400,
    queue: Annotated[Optional[list[str]], typer.Option(help="document or suggest (repeatable; default: both).", metavar="QUEUE")] = None,
    retrain_every: Annotated[int, typer.Option("--retrain-every", help="Decisions between trainings.", metavar="N", callback=at_least_one)] = 25,
) -> None:
    """A simulated round of coding in the workbench, through its JSON API.

    The researcher is a coder of the sample corpus: each proposal is accepted where it
    equals their codes and corrected otherwise; a model trains in the background every
    --retrain-every decisions (the project starts without a model). Writes, per block of
    100 decisions, the share of proposals accepted unchanged and the mean number of code
    changes per segment, beside coding the same segments without proposals.
    """
    import time

    from starlette.testclient import TestClient

    from pipeline.core.records import write_record
    from pipeline.research.figures import render
    from pipeline.review.serve import prepare
    from pipeline.review.server import create_app
    from pipeline.review.simulate import researcher_codes, simulate

    queues = queue or ["document", "suggest"]
    bad = [q for q in queues if q not in ("document", "suggest")]
    if bad:
        raise typer.BadParameter(f"{', '.join(bad)} unknown; choose document or suggest.", param_hint="--queue")
    check_output_path(out, kind="folder", option="--out")
    out.mkdir(parents=True, exist_ok=True)
    record: dict = {"runs": []}
    for q in queues:
        folder = out / f"project-{q}"
        if folder.exists():
            raise typer.BadParameter(f"{folder} exists: give a new --out folder (the simulation starts from an empty project).", param_hint="--out")
        done = prepare(folder, texts=[corpus / "transcripts"], model="none")
        project = done.project
        try:
            truth = researcher_codes(project, [corpus / "codings.jsonl"], coder)
            app = create_app(project, port=8765, retrain_every=retrain_every)
            with TestClient(app, base_url="http://127.0.0.1:8765", headers={"Authorization": f"Bearer {project.token}"}) as client:
                start = time.perf_counter()
                run = simulate(client, project, truth, queue=q, decisions=decisions, progress=note)
                run["seconds"] = round(time.perf_counter() - start, 1)
        finally:
            project.close()
        record["runs"].append(run)
        note(f"{q}: " + "; ".join(f"{b['decisions']}: {b['accepted_unchanged']:.0%} unchanged, {b['changes']:.2f} changes" for b in run["blocks"]))
    record = write_record(out / "review-simulation.json", record)
    (out / "review-simulation.md").write_text(render(record, "review-simulation"), encoding="utf-8")
    typer.echo(str(out / "review-simulation.md"))


@benchmark_app.command("review-speed")
@reports_errors
def review_speed(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for review-speed.json and .md, the texts and the project.", metavar="FOLDER")],
    corpus: Annotated[Path, typer.Option(help="The sample corpus folder (its transcripts/ are strung together).", metavar="FOLDER")] = Path("corpus"),
    documents: Annotated[int, typer.Option(help="Transcripts in the project.", metavar="N", callback=at_least_one)] = 50,
    segments: Annotated[int, typer.Option(help="Segments in the project, about.", metavar="N", callback=at_least_one)] = 20000,
    decisions: Annotated[int, typer.Option(help="Decisions timed per queue.", metavar="N", callback=at_least_one)] = 200,
) -> None:
    """How fast the workbench answers on a large project: start-up, the next segment after
    a decision (HTTP, and in Chromium where installed), on a project of --documents
    transcripts and about --segments segments coded by the shipped model."""
    import json
    import shutil
    import time

    from pipeline.core.config import load_config
    from pipeline.core.records import write_record
    from pipeline.research.figures import render
    from pipeline.review import worker
    from pipeline.review.serve import prepare
    from pipeline.review.speed import build_texts, measure

    check_output_path(out, kind="folder", option="--out")
    folder = out / "project"
    if folder.exists():
        raise typer.BadParameter(f"{folder} exists: give a new --out folder.", param_hint="--out")
    record: dict = {}
    start = time.perf_counter()
    texts = build_texts(corpus / "transcripts", out / "texts", documents=documents, segments=segments, config=load_config(None))
    done = prepare(folder, texts=texts)
    project = done.project
    record["project"] = {"documents": len(done.documents), "segments": project.con.execute("SELECT COUNT(*) FROM segments").fetchone()[0],
                         "codable_segments": project.status()["segments"], "made_s": round(time.perf_counter() - start, 1)}
    project.close()
    start = time.perf_counter()
    if worker.run(folder, done.model, train=False) != 0:
        raise typer.Exit(1)
    record["project"]["coded_s"] = round(time.perf_counter() - start, 1)
    note(f"project of {record['project']['documents']} documents, {record['project']['segments']} segments "
         f"({record['project']['codable_segments']} codable); measuring")
    chromium = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser")) if p), None)
    record.update(measure(folder, decisions=decisions, chromium=chromium))
    record = write_record(out / "review-speed.json", record)
    (out / "review-speed.md").write_text(render(record, "review-speed"), encoding="utf-8")
    note(json.dumps({k: v for k, v in record.items() if k != "packages"}))
    typer.echo(str(out / "review-speed.json"))

