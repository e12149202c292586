#!/usr/bin/env python3
"""Instruction counts of the hot paths, checked against a committed baseline.

    python3 bench/instructions.py            # check (what .ci/run does)
    python3 bench/instructions.py --update   # write the current counts as the baseline

Each section of scheduler-core/examples/hotpaths.rs (parsing, evaluation, next change,
appends to the in-memory log and to the store) runs under `valgrind --tool=callgrind`,
which counts the instructions executed; the count of the `none` section (start-up only) is
taken off. Unlike timings, these counts are the same whatever else the machine is doing,
so a CI check on them does not flake. A section fails the check when it executes more than
LIMIT times its baseline; one that has become much cheaper is reported, so that the
baseline can be lowered with --update. Without valgrind the check is skipped, with a
printed reason.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = Path(__file__).resolve().parent / "instructions.json"
SECTIONS = ["parse", "evaluate", "next_change", "log_append", "store_append"]
# Generous: counts move by a few per cent between toolchains and hash seeds; a regression
# worth stopping for (a scan where a bisection was, an allocation per evaluation) is larger.
LIMIT = 1.25


def instructions(binary: Path, section: str) -> int:
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", str(binary), section],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"Collected : (\d+)", out.stderr)
    if not match:
        raise RuntimeError(f"no instruction count in valgrind's output for {section}:\n{out.stderr}")
    return int(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update", action="store_true", help="write the measured counts as the new baseline")
    args = parser.parse_args()

    if shutil.which("valgrind") is None:
        print("instruction counts: skipped, valgrind is not installed")
        return 0
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "-p", "scheduler-core", "--example", "hotpaths"],
        cwd=ROOT,
        check=True,
    )
    binary = ROOT / "target" / "release" / "examples" / "hotpaths"
    start_up = instructions(binary, "none")
    counts = {section: instructions(binary, section) - start_up for section in SECTIONS}

    if args.update:
        BASELINE.write_text(json.dumps(counts, indent=2) + "\n")
        print(f"instruction counts: baseline written to {BASELINE.relative_to(ROOT)}")
        for section, count in counts.items():
            print(f"  {section:<13} {count:>14,}")
        return 0

    baseline = json.loads(BASELINE.read_text())
    failed = False
    print(f"instruction counts (limit {LIMIT}× the baseline in {BASELINE.relative_to(ROOT)}):")
    for section, count in counts.items():
        base = baseline.get(section)
        if base is None:
            print(f"  {section:<13} {count:>14,}  no baseline (run with --update)")
            failed = True
            continue
        ratio = count / base
        verdict = "ok"
        if ratio > LIMIT:
            verdict = "REGRESSION"
            failed = True
        elif ratio < 1 / LIMIT:
            verdict = "much cheaper: lower the baseline with --update"
        print(f"  {section:<13} {count:>14,}  {ratio:5.2f}× baseline  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
