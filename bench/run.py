"""The benchmark suite: gradcalc beside the floors and the peers, measured in one run.

    python3 bench/run.py                  # everything, about 7 minutes on 2 cores
    python3 bench/run.py --quick          # fewer repeats and sizes: a check in a few minutes
    python3 bench/run.py --only startup,size --update-readme

Five workloads (see bench/README.md): start-up, size, data, the tutorial network and batch mode. Inputs
are generated deterministically; every peer's answer is checked before its time is quoted;
peers that are not installed are skipped with a note. The report (Markdown: medians,
min–max, ratios to the floors, growth slopes, peak memory, versions, and each target met or
not) goes to standard output and to bench/out/results.md; --update-readme also puts it in
bench/README.md between its `bench:results` markers.
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import batch, data_bench, install, network, size, startup, vectors  # noqa: E402
from bench.measure import Target, markdown_table, targets_table  # noqa: E402

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
BEGIN, END = "<!-- bench:results begin -->", "<!-- bench:results end -->"
WORKLOADS = ("startup", "size", "data", "network", "batch", "vectors")

FULL = {"startup_repeats": 21, "sizes": [1_000, 10_000, 100_000], "size_repeats": 5, "timeout": 60.0,
        "rows": [10_000, 100_000, 1_000_000], "memory_rows": 10_000_000, "data_repeats": 7,
        "network_repeats": 5, "batch_lines": 20_000, "batch_repeats": 5}
QUICK = {"startup_repeats": 5, "sizes": [1_000, 10_000], "size_repeats": 3, "timeout": 15.0,
         "rows": [10_000, 100_000], "memory_rows": 1_000_000, "data_repeats": 3, "network_repeats": 2,
         "batch_lines": 5_000, "batch_repeats": 3}


def run(workloads: list[str], config: dict, quick: bool) -> str:
    """Every chosen workload, then one table of all targets; the whole report as Markdown."""
    began = time.perf_counter()
    scratch_dir = install.scratch_directory()
    scratch = Path(scratch_dir.name)
    print("preparing interpreters (a regular install in a scratch virtual environment)", file=sys.stderr)
    pythons = install.interpreters(scratch)
    sections: list[str] = []
    targets: list[Target] = []
    if "startup" in workloads:
        text, found = startup.run(pythons, config["startup_repeats"])
        sections.append("### 1. Start-up\n\n" + text)
        targets += found
    if "size" in workloads:
        text, found = size.run(pythons[0], config["sizes"], config["size_repeats"], config["timeout"])
        sections.append("### 2. Size\n\n" + text)
        targets += found
    if "data" in workloads:
        text, found = data_bench.measure_workload(pythons[0], config["rows"], config["memory_rows"],
                                                  config["data_repeats"], scratch)
        sections.append("### 3. Data\n\n" + text)
        targets += found
    if "network" in workloads:
        text, found = network.measure(pythons[0], config["network_repeats"], pythons[0].has("torch"))
        sections.append("### 4. The tutorial network\n\n" + text)
        targets += found
    if "batch" in workloads:
        text, found = batch.measure(pythons[0], config["batch_lines"], config["batch_repeats"])
        sections.append("### 5. Batch mode\n\n" + text)
    if "vectors" in workloads:
        text, found = vectors.measure(pythons[0], config["network_repeats"], pythons[0].has("torch"))
        sections.append("### 6. Vectors and matrices\n\n" + text)
        targets += found
    scratch_dir.cleanup()
    minutes = (time.perf_counter() - began) / 60
    mode = "quick run (`--quick`)" if quick else "full run"
    header = (f"{mode}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {minutes:.1f} minutes; "
              f"targets judged on the `{pythons[0].label}` interpreter ({pythons[0].note}).\n\n")
    versions = install.versions()
    header += markdown_table(["", *versions], [["version", *versions.values()]]) + "\n"
    summary = "### Targets\n\n" + targets_table(targets) + "\n"
    return header + summary + "\n".join(sections)


def update_readme(report: str) -> None:
    text = README.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    README.write_text(text[:start] + "\n" + report.rstrip() + "\n" + text[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:5]))
    parser.add_argument("--quick", action="store_true", help="fewer repeats and sizes (a few minutes)")
    parser.add_argument("--only", default=",".join(WORKLOADS), metavar="LIST",
                        help=f"comma-separated workloads among {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("--output", type=Path, default=HERE / "out" / "results.md", metavar="FILE",
                        help="where to write the report (default: bench/out/results.md)")
    parser.add_argument("--update-readme", action="store_true",
                        help="also put the report in bench/README.md between its markers")
    args = parser.parse_args(argv)
    workloads = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {', '.join(unknown)}; choose among {', '.join(WORKLOADS)}")
    report = run(workloads, QUICK if args.quick else FULL, args.quick)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report, encoding="utf-8")
    sys.stdout.write(report)
    if args.update_readme:
        update_readme(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
