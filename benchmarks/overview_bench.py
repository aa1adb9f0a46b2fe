"""Time and size of the results overview for a large run, and the time to open it.

    python benchmarks/overview_bench.py [--documents 100] [--segments 100000] [--keep DIR] [--record FILE]

Builds a classify output folder of ``--documents`` transcripts with ``--segments``
segments in all (synthetic but realistic: the sentences of the sample corpus, shuffled
per document with a fixed seed, about one in four an interviewer turn that is not coded;
scores per code drawn so that a few segments per code score high, with the default
model's thresholds deciding the codes, as classify does; source texts and
``.meta.json`` beside them as classify writes them). Then it

* times :func:`pipeline.reports.overview.write_overview` with the default model already loaded
  and its embedder warmed up (as at the end of ``autocode classify``; the embedding
  cache is off), split into reading/aggregating and rendering, with peak memory;
* prints the size of ``overview.html``;
* opens the page in headless Chromium (where installed) and reports the time from
  navigation start to the page parsed, scripted and laid out (measured inside the page
  with ``performance.now()``), the time one filter change takes, and the wall time of
  ``chromium --dump-dom`` against a blank page.

``--record FILE`` writes the figures as a record (:func:`pipeline.core.records.write_record`);
docs/overview.md cites ``benchmarks/results/overview.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import random
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["AUTOCODE_CACHE_DIR"] = "off"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PROBE = """<script>
(function(){
 document.body.offsetHeight;
 var loaded=performance.now(),form=document.getElementById('filters');
 var t0=performance.now();form.doc.value='3';form.doc.dispatchEvent(new Event('change',{bubbles:true}));document.body.offsetHeight;
 var filter=performance.now()-t0;
 var pre=document.createElement('pre');pre.id='probe';pre.textContent=JSON.stringify({loaded:loaded,filter:filter,
   elements:document.getElementsByTagName('*').length});document.body.appendChild(pre);
})();
</script>"""


def sample_sentences() -> list[tuple[str, str, str]]:
    """(speaker, role, text) of every segment of the sample corpus, default segmentation."""
    from pipeline.core.config import SegmentConfig
    from pipeline.text.ingest import read_transcript
    from pipeline.text.segment import iter_segments

    out = []
    for path in sorted((REPO / "corpus" / "transcripts").glob("*.txt")):
        for s in iter_segments(read_transcript(path), config=SegmentConfig()):
            if s.role in ("respondent", "interviewer"):
                out.append((s.speaker, s.role, s.text))
    return out


def build_folder(folder: Path, *, documents: int, segments: int, model) -> None:
    from pipeline.learn.classify import with_parents

    rng = random.Random(7)
    pool = sample_sentences()
    codes = list(model.codes)
    thresholds = dict(zip(codes, (float(t) for t in model.classifier.thresholds_)))
    parent_of = {c.id: c.parent for c in model.codebook.codes}
    per_doc = segments // documents
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "src").mkdir(exist_ok=True)
    for d in range(documents):
        stem = f"int{d + 1:03d}_synthetic"
        lines, records, pos = [], [], 0
        for i in range(per_doc):
            speaker, role, text = rng.choice(pool)
            line = f"{speaker}: {text}" if speaker else text
            start = pos + (len(speaker) + 2 if speaker else 0)
            lines.append(line)
            pos += len(line) + 1
            codable = role != "interviewer"
            scores = {}
            if codable:
                # Mostly low scores, a few high ones: the shape classify's scores have.
                hot = rng.sample(codes, k=rng.choice((0, 0, 1, 1, 2)))
                scores = {c: round(rng.betavariate(6, 2) if c in hot else rng.betavariate(1, 12), 4) for c in codes}
            coded = [c for c in codes if scores.get(c, 0.0) >= thresholds[c]]
            records.append({
                "id": f"{stem}:{i:04d}", "transcript": stem, "start": start, "end": start + len(text),
                "speaker": speaker, "role": role, "codable": codable, "text": text, "codes": coded,
                "parent_codes": with_parents(coded, parent_of), "scores": scores, "model": model.name,
            })  # fmt: skip
        source = "\n".join(lines) + "\n"
        src = folder / "src" / f"{stem}.txt"
        src.write_text(source, encoding="utf-8")
        with open(folder / f"{stem}.jsonl", "w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        meta = {"source": str(src.resolve()), "source_sha256": hashlib.sha256(source.encode("utf-8")).hexdigest(),
                "model": model.name, "model_fingerprint": model.fingerprint, "segments": per_doc}
        (folder / f"{stem}.meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def open_in_chromium(page: Path, work: Path) -> dict | None:
    browser = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)
    if browser is None:
        return None
    probe = work / "probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    blank = work / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body><p>blank</p></body></html>", encoding="utf-8")
    base = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--user-data-dir={work / 'profile'}", "--window-size=1280,900", "--dump-dom"]
    subprocess.run([*base, blank.as_uri()], capture_output=True, timeout=120)  # first start fills the profile
    walls = {}
    for name, target in (("blank", blank), ("overview", probe)):
        t = time.perf_counter()
        dom = subprocess.run([*base, target.as_uri()], capture_output=True, text=True, timeout=300, check=True).stdout
        walls[name] = time.perf_counter() - t
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    result = json.loads(html.unescape(found.group(1))) if found else {}
    return {**result, "wall": walls["overview"], "wall_blank": walls["blank"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--documents", type=int, default=100)
    ap.add_argument("--segments", type=int, default=100_000)
    ap.add_argument("--keep", type=Path, help="build the folder here and keep it (a folder built before is reused)")
    ap.add_argument("--record", type=Path, help="write the figures as a record (JSON) here")
    args = ap.parse_args()

    from pipeline.cli._app import default_model_dir
    from pipeline.learn.model import load_model
    from pipeline.reports.overview import (
        build_overview,
        model_view,
        overview_inputs,
        render_overview,
        write_overview,
    )

    work = Path(tempfile.mkdtemp(prefix="overview-bench-"))
    folder = args.keep or work / "out"
    model = load_model(default_model_dir())
    t = time.perf_counter()
    reused = args.keep is not None and len(list(folder.glob("*.meta.json"))) == args.documents
    if not reused:
        build_folder(folder, documents=args.documents, segments=args.segments, model=model)
    jsonl_mb = sum(p.stat().st_size for p in folder.glob("*.jsonl")) / 2**20
    print(f"output folder: {args.documents} transcripts, {args.segments:,} segments, {jsonl_mb:.0f} MiB of JSONL "
          + ("(reused)" if reused else f"(made in {time.perf_counter() - t:.1f} s)"))

    view = model_view(model)
    view.encode(["warm-up"])  # classify has its embedder loaded when it writes the overview
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    paths = overview_inputs(folder)
    # Wall time depends on what else runs on the machine; the process's CPU time less so.
    t, c = time.perf_counter(), time.process_time()
    ov = build_overview(paths, model=view)
    t_build, c_build = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    page = render_overview(ov)
    t_render, c_render = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    target, _ = write_overview(folder, model=view, paths=paths)
    t_write, c_write = time.perf_counter() - t, time.process_time() - c
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = target.stat().st_size
    print(f"build (wall / CPU): read and aggregate {t_build:.2f} / {c_build:.2f} s, render {t_render:.2f} / {c_render:.2f} s; "
          f"write_overview end to end {t_write:.2f} / {c_write:.2f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"page: {size / 2**20:.2f} MiB ({len(page):,} characters), {len(ov.segments):,} segments shown of {args.segments:,}")
    print(f"peak RSS {peak:.0f} MiB (after loading the model: {rss_before:.0f} MiB)")
    opened = open_in_chromium(target, work)
    if opened is None:
        print("open: no chromium installed (apt-get install -y chromium)")
    else:
        print(f"open in headless Chromium at 1280 px: parsed, scripted and laid out {opened.get('loaded', float('nan')) / 1000:.2f} s "
              f"after navigation start; one filter change {opened.get('filter', float('nan')):.0f} ms; "
              f"{opened.get('elements', 0):,} elements; chromium --dump-dom wall {opened['wall']:.2f} s "
              f"(blank page {opened['wall_blank']:.2f} s)")
    if args.record is not None:
        from pipeline.core.records import write_record

        write_record(args.record, {
            "benchmark": "overview", "command": shlex.join(["python", "benchmarks/overview_bench.py", *sys.argv[1:]]),
            "documents": args.documents, "segments": args.segments, "jsonl_mib": jsonl_mb,
            "build_wall_s": t_build, "build_cpu_s": c_build, "render_wall_s": t_render, "render_cpu_s": c_render,
            "write_wall_s": t_write, "write_cpu_s": c_write, "page_mib": size / 2**20, "segments_shown": len(ov.segments),
            "peak_rss_mib": peak, "rss_with_model_mib": rss_before, "load_average": os.getloadavg()[0],
            "cores": os.cpu_count(), "chromium": opened,
        })
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
