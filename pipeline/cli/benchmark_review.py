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

    from pipeline.review.serve import prepare
    from pipeline.review.server import create_app
    from pipeline.review.simulate import markdown_simulation, researcher_codes, simulate, write_record

    queues = queue or ["document", "suggest"]
    bad = [q for q in queues if q not in ("document", "suggest")]
    if bad:
        raise typer.BadParameter(f"{', '.join(bad)} unknown; choose document or suggest.", param_hint="--queue")
    check_output_path(out, kind="folder", option="--out")
    out.mkdir(parents=True, exist_ok=True)
    record = {"command": "autocode benchmark review " + " ".join(f"--queue {q}" for q in queues)
              + f" --decisions {decisions} --coder {coder} --retrain-every {retrain_every}", "runs": []}
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
    write_record(out / "review-simulation.json", record)
    (out / "review-simulation.md").write_text(markdown_simulation(record), encoding="utf-8")
    typer.echo(str(out / "review-simulation.md"))
