"""``autocode benchmark``: quality and speed on real hand-coded data, against the peer."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._app import Typer, app, at_least_one, at_least_two, note, reports_errors
from pipeline.core.io import check_output_path

benchmark_app = Typer(help="Benchmarks on real hand-coded corpora (figures against a TF-IDF + LinearSVC peer).", no_args_is_help=True)
app.add_typer(benchmark_app, name="benchmark")


@benchmark_app.command()
@reports_errors
def manifesto(
    data: Annotated[Path, typer.Option(help="The manifesto_de_2021 folder (manifestos_2021.csv, grouping_info.txt).", metavar="FOLDER")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for benchmark.json and benchmark.md.", metavar="FOLDER")],
    config: Annotated[Optional[Path], typer.Option(help="autocode's run configuration (default: the shipped Manifesto configuration, configs/manifesto.yaml).", metavar="FILE")] = None,
    split: Annotated[Optional[list[str]], typer.Option(help="in-domain or new-documents (repeatable; default: both).", metavar="SPLIT")] = None,
    level: Annotated[Optional[list[str]], typer.Option(help="code or domain (repeatable; default: both).", metavar="LEVEL")] = None,
    limit: Annotated[int, typer.Option(help="Only the first N rows of each party (quick checks; 0: all).", metavar="N")] = 0,
    scheduler: Annotated[Optional[str], typer.Option(help="Run the jobs on the Dask cluster of this scheduler (tcp://HOST:8786).", metavar="ADDRESS")] = None,
    workers: Annotated[Optional[int], typer.Option(callback=at_least_one, help="Run the jobs on a local Dask cluster of N worker processes.", metavar="N")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the configuration and the data, print what would run (JSON), train nothing.")] = False,
) -> None:
    """Train and test autocode and the TF-IDF + LinearSVC peer on the Manifesto Project's
    German 2021 quasi-sentences, on both splits and levels of the protocol in
    ../shared/data/README.md.

    Writes OUT/benchmark.json and OUT/benchmark.md: accuracy, macro-F1, per-code F1,
    training time, classification throughput and peak memory of each method, and
    autocode / peer for each figure. Deterministic for a fixed seed (training.seed).
    With --scheduler or --workers the eight jobs run as tasks on a Dask cluster.
    """
    check_output_path(out, kind="folder", option="--out")
    from pipeline.core.config import load_config
    from pipeline.research.benchmark import (
        LEVELS,
        SPLITS,
        load_manifesto,
        markdown_table,
        run_benchmark,
        write_report,
    )

    for name, given, allowed in (("--split", split, SPLITS), ("--level", level, LEVELS)):
        bad = [g for g in given or () if g not in allowed]
        if bad:
            raise typer.BadParameter(f"{', '.join(bad)} unknown; choose from {', '.join(allowed)}.", param_hint=name)
    from pipeline.defaults import manifesto_config_path

    run_config = load_config(config or manifesto_config_path())
    if run_config.classifier.labels != "single":
        note("the Manifesto codes are single-label: using classifier.labels = single for this run.")
        from dataclasses import replace

        run_config = replace(run_config, classifier=replace(run_config.classifier, labels="single"))
    corpus = load_manifesto(data, limit_per_document=limit)
    note(f"{len(corpus.segments)} quasi-sentences, {len(set(corpus.codes))} codes, {len(set(corpus.domains))} domains")
    if dry_run:
        import json

        plan = {
            "configuration": str(config or manifesto_config_path()),
            "config": run_config.to_dict(),
            "splits": list(split or SPLITS),
            "levels": list(level or LEVELS),
            "segments": len(corpus.segments),
        }
        typer.echo(json.dumps(plan, indent=2, ensure_ascii=False))
        return

    def on_result(s, lv, method, r):
        note(f"{s:<13} {lv:<6} {method:<8} accuracy {r['accuracy']:.3f}  macro-F1 {r['macro_f1']:.3f}  "
             f"train {r['train_seconds']:.1f} s  {r['segments_per_second'] or 0:.0f} seg/s  {r['peak_memory_mib']:.0f} MiB")

    kwargs = dict(config=run_config, splits=tuple(split or SPLITS), levels=tuple(level or LEVELS), on_result=on_result)
    if scheduler is not None or workers is not None:
        from pipeline.run.distributed import cluster_client

        with cluster_client(scheduler=scheduler, workers=workers) as client:
            report = run_benchmark(corpus, client=client, **kwargs)
    else:
        report = run_benchmark(corpus, **kwargs)
    js, md = write_report(report, out)
    sys.stdout.write(markdown_table(report).split("\n## ")[0])
    note(f"wrote {js} and {md}")


@benchmark_app.command()
@reports_errors
def germeval(
    data: Annotated[Path, typer.Option(help="The germeval2021 folder (GermEval21_TrainData.csv, GermEval21_TestData.csv).", metavar="FOLDER")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for benchmark.json and benchmark.md.", metavar="FOLDER")],
    config: Annotated[Optional[Path], typer.Option(help="autocode's run configuration (default: the shipped one, as 'autocode train' trains it).", metavar="FILE")] = None,
    limit: Annotated[int, typer.Option(help="Only the first N comments of each file (quick checks; 0: all).", metavar="N")] = 0,
) -> None:
    """Train autocode (as 'autocode train' trains, thresholds by cross-validation on the
    official training file) and the TF-IDF + LinearSVC peer on GermEval 2021, and score
    the official test file once with the task's measure (per label macro-F1 over its two
    classes).

    Writes OUT/benchmark.json and OUT/benchmark.md: test figures of both, training time
    and speed.
    """
    from pipeline.core.config import load_config
    from pipeline.research.benchmark_germeval import markdown_table, run_germeval, write_report

    check_output_path(out, kind="folder", option="--out")
    report = run_germeval(data, config=load_config(config), limit=limit)
    js, md = write_report(report, out)
    sys.stdout.write(markdown_table(report).split("\n## ")[0])
    note(f"wrote {js} and {md}")


@benchmark_app.command()
@reports_errors
def active(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for active.json and active.md.", metavar="FOLDER")],
    data: Annotated[Optional[Path], typer.Option(help="The manifesto_de_2021 folder (manifestos_2021.csv, grouping_info.txt); omit to skip.", metavar="FOLDER")] = None,
    corpus: Annotated[Optional[Path], typer.Option(help="The sample corpus folder (codings.jsonl, transcripts/, literature/); omit to skip.", metavar="FOLDER")] = None,
    config: Annotated[Optional[Path], typer.Option(help="Run configuration for Manifesto (default: the shipped Manifesto configuration).", metavar="FILE")] = None,
    strategy: Annotated[Optional[list[str]], typer.Option(help="Strategies to compare (default: random and balanced); repeat the option.", metavar="NAME")] = None,
    seeds: Annotated[int, typer.Option(help="Number of seeds (0, 1, ...).", callback=at_least_one, metavar="N")] = 3,
    start: Annotated[int, typer.Option(help="Randomly coded segments to start from.", callback=at_least_two, metavar="N")] = 200,
    batch: Annotated[int, typer.Option(help="Segments coded per round.", callback=at_least_one, metavar="N")] = 100,
    stop: Annotated[int, typer.Option(help="Coded segments at the end (Manifesto).", callback=at_least_two, metavar="N")] = 3000,
    time_round: Annotated[bool, typer.Option(help="Also time one real suggest round on a 20,000-segment pool.")] = True,
) -> None:
    """Simulated coding: batches chosen by 'autocode suggest' versus random batches.

    From the same random start, a simulated coder adds batches chosen by each strategy,
    with the corpus's hand codes as answers; after every batch the model is trained and
    tested (Manifesto: in-domain split, code level, fixed test set; sample corpus:
    cross-validation by document, multi-label default configuration). Prints a table and
    writes OUT/active.json (macro-F1 of "random" and "active" by number of coded segments, means
    over seeds; spreads, accuracy, timings and every run beside them) and OUT/active.md.
    """
    check_output_path(out, kind="folder", option="--out")
    from pipeline.core.config import load_config
    from pipeline.learn.active_learning import STRATEGIES
    from pipeline.research.benchmark_active import markdown_table, run_active_benchmark, write_report

    names = list(strategy or ("random", "balanced"))
    bad = [s for s in names if s not in STRATEGIES]
    if bad or not any(s != "random" for s in names):
        raise typer.BadParameter(f"{', '.join(bad) or 'only random'}: choose at least one of {', '.join(s for s in STRATEGIES if s != 'random')} (and random).", param_hint="--strategy")
    if data is None and corpus is None:
        raise typer.BadParameter("give --data (Manifesto) and/or --corpus (sample corpus).", param_hint="--data")
    from pipeline.defaults import manifesto_config_path

    manifesto_config = load_config(config or manifesto_config_path())

    def on_curve(where, name, seed, curve):
        note(f"{where:<9} {name:<11} seed {seed}: " + " ".join(f"{p['coded']}:{p['macro_f1']:.3f}" for p in curve[:: max(1, len(curve) // 8)]) + f" … {curve[-1]['coded']}:{curve[-1]['macro_f1']:.3f}")

    report = run_active_benchmark(
        data,
        manifesto_config=manifesto_config,
        sample_config=load_config(None),
        corpus=corpus,
        strategies=names,
        seeds=tuple(range(seeds)),
        start=start,
        batch=batch,
        stop=stop,
        time_round=time_round,
        on_curve=on_curve,
        # The curves take most of an hour: keep them even if a later part fails.
        on_part=lambda so_far: write_report(so_far, out),
    )
    path = write_report(report, out)
    sys.stdout.write(markdown_table(report))
    note(f"wrote {path}")


@benchmark_app.command()
@reports_errors
def transfer(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for transfer.json and transfer.md.", metavar="FOLDER")],
    config: Annotated[Optional[list[Path]], typer.Option(help="Run configuration(s) to compare, one row each (default: the default configuration).", metavar="FILE")] = None,
    corpus: Annotated[Path, typer.Option(help="Corpus folder with the interviews' codings.jsonl and literature/codings.jsonl.", metavar="FOLDER")] = Path("corpus"),
    codebook: Annotated[Optional[Path], typer.Option(help="Code system (default: the shipped one).", metavar="FILE")] = None,
    card: Annotated[Optional[Path], typer.Option(help="Record the figures in this model's card (model.json, README.md): those of the --config the model was trained with.", metavar="MODEL")] = None,
) -> None:
    """Register transfer on the shipped material: train on the interviews and code the
    literature excerpts, and the reverse, beside each register's own document-grouped
    cross-validation (and both registers together).

    Every model is trained and applied as `autocode train` and `autocode classify` do.
    Prints one table (micro-/macro-F1, parent micro-F1, the gap to the coded register's
    own CV figure, training time, segments/s uncached, peak memory) and writes
    OUT/transfer.json and OUT/transfer.md with per-code F1.
    """
    check_output_path(out, kind="folder", option="--out")
    from pipeline.core.codebook import load_codebook
    from pipeline.core.config import load_config
    from pipeline.core.io import atomic_write_text
    from pipeline.core.records import write_record
    from pipeline.research.benchmark_transfer import load_registers, markdown_table, run_transfer

    configs = {p.stem: load_config(p) for p in config} if config else {"default": load_config(None)}
    model = None
    if card is not None:
        from pipeline.research.benchmark_transfer import check_card_model

        model, row = check_card_model(card, configs)
    from pipeline.defaults import codebook_path

    book = load_codebook(codebook or codebook_path())
    registers = load_registers(corpus, codebook=book, config=next(iter(configs.values())))
    note(", ".join(f"{n}: {len(d.segments)} codable segments from {len(set(d.groups))} documents" for n, d in registers.items()))

    def on_result(name, r):
        parts = [f"{k} micro-F1 {v['micro_f1']:.3f}" for k, v in r["transfer"].items()]
        parts += [f"CV {k} {v['micro_f1']:.3f}" for k, v in r["cv"].items() if ":" not in k]
        note(f"{name}: " + ", ".join(parts))

    report = run_transfer(registers, configs, on_result=on_result)
    out.mkdir(parents=True, exist_ok=True)
    write_record(out / "transfer.json", report)
    table = markdown_table(report)
    atomic_write_text(out / "transfer.md", table)
    sys.stdout.write(table.split("\n## ")[0])
    note(f"wrote {out / 'transfer.json'} and {out / 'transfer.md'}")
    if model is not None:
        from pipeline.research.benchmark_transfer import record_in_card

        record_in_card(model, report, row)
        note(f"recorded the transfer figures in {card}/model.json and README.md")
