#!/usr/bin/env python3
"""Where the compile cost of `#[task]` goes, and the least that typed registration costs.

    python3 bench/compile_floor.py               # 200 tasks, about 5 minutes (more if the dependencies are not built)
    python3 bench/compile_floor.py --tasks 100

The compile-cost scenario of bench/run.py compares a crate of `#[task]` functions with the
same functions plain. This script explains the ratio. It takes the `#[task]` crate of that
scenario, has rustc print it with every macro expanded (`-Zunpretty=expanded`, on the stable
compiler through RUSTC_BOOTSTRAP, as cargo-expand does), and compiles variants of the
expanded source the way cargo compiles the crate (same flags, debug profile, a fresh
incremental directory), counting the instructions rustc executes with valgrind:

* `plain`: the plain crate of the scenario, the reference;
* `plain + run()`: the plain crate that also starts the scheduler (`scheduler::run()`) with
  one `#[task]`: what a program pays once, whatever its number of tasks;
* `#[task]`: the `#[task]` crate as a user builds it, macro expansion included;
* `expanded`: the code `#[task]` emits, compiled directly (without running the macro);
* `floor`: the same, with each task's definition cut down to its name and the address of
  its call function: the marker type, the call function that injects the parameters and
  boxes the future, and one static per task, the least any typed registration emits.

Each build is also timed without valgrind (the same rustc command, a full build, median of
`--reps`), taking turns between the variants.

The variants are built from the expansion by text substitution; when a substitution no
longer finds what `#[task]` emits, the script stops and says which.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import run  # noqa: E402  (the crate generator of the compile-cost scenario)

WORK = BENCH / "compile" / "work" / "floor"

# Records the rustc command (arguments, directory, cargo's environment) of the generated
# crate, so that variants of its source can be compiled with exactly the same flags.
RECORDER = """#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
if "--crate-name" in args and args[args.index("--crate-name") + 1].startswith("compile_cost_"):
    record = os.environ.get("FLOOR_RECORD")
    if record:
        env = {k: v for k, v in os.environ.items() if k.startswith("CARGO")}
        with open(record, "w") as f:
            json.dump({"argv": args, "cwd": os.getcwd(), "env": env}, f)
os.execvp(args[0], args)
"""


class ExpansionChanged(Exception):
    """A substitution found nothing: `#[task]` emits something else than this script expects."""


def sub(pattern: str, replacement, text: str, what: str, flags: int = 0) -> str:
    result, count = re.subn(pattern, replacement, text, flags=flags)
    if count == 0:
        raise ExpansionChanged(f"no {what} found in the expansion")
    return result


def record_command(crate: Path, target: Path) -> dict:
    """Builds the crate (dependencies included) and returns how cargo ran rustc on it."""
    recorder = WORK / "record-rustc.py"
    recorder.write_text(RECORDER)
    recorder.chmod(0o755)
    record = WORK / f"{crate.name}.command.json"
    manifest = ["--manifest-path", str(crate / "Cargo.toml")]
    env = dict(os.environ, CARGO_TARGET_DIR=str(target), RUSTC_WRAPPER=str(recorder), FLOOR_RECORD=str(record))
    subprocess.run(["cargo", "build", "--quiet", *manifest], check=True, env=env)
    # Built again from nothing, so that the recorder sees the crate compiled.
    subprocess.run(["cargo", "clean", "--quiet", "-p", f"compile-cost-{crate.name}", *manifest], check=True, env=env)
    subprocess.run(["cargo", "build", "--quiet", *manifest], check=True, env=env)
    return json.loads(record.read_text())


def expand(command: dict) -> str:
    """The crate's source with every macro expanded, made compilable again."""
    argv = [a for a in command["argv"] if not (a.startswith("--error-format") or a.startswith("--json"))]
    out = subprocess.run(
        [*argv, "-Zunpretty=expanded"],
        cwd=command["cwd"],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ, **command["env"], RUSTC_BOOTSTRAP="1"),
    ).stdout
    # The printed crate enables the prelude import (an internal feature); `println!`
    # expands to an internal function.
    out = sub(
        r"^#!\[feature\(prelude_import\)\]",
        "#![feature(prelude_import, print_internals)]\n#![allow(internal_features)]",
        out,
        "prelude import",
        flags=re.M,
    )
    # inventory's registration (an edition 2021 macro) writes `#[link_section = ...]`, which
    # the printed crate, of edition 2024, must write as an unsafe attribute.
    out = sub(r"#\[link_section = (\"[^\"]*\")\]", r"#[unsafe(link_section = \1)]", out, "link section")
    # `$crate` of a `macro_rules` macro of scheduler-core or inventory prints as
    # `::scheduler_core` or `::inventory`, which the user's crate does not depend on
    # directly; the facade re-exports both.
    out = out.replace("::scheduler_core::runtime::TaskDef", "::scheduler::__private::TaskDef")
    return sub(r"::inventory::", "::scheduler::__private::inventory::", out, "inventory registration")


def floor(expanded: str) -> str:
    """Each task's definition cut down to its name and its call function's address,
    registered through `inventory` as `#[task]` registers its own (the runtime does not read
    these: this is compiled, not run)."""
    text = sub(
        r"value: &\{\s*::scheduler::__private::TaskDef \{\s*name: (\"\w+\"),.*?\.\.::scheduler::__private::TaskDef::BASE\s*\}\s*\}",
        r"value: &{ crate::FloorDef { name: \1, call: __scheduler_call as *const () } }",
        expanded,
        "task definition",
        flags=re.S,
    )
    return text + (
        "\npub struct FloorDef {\n    name: &'static str,\n    call: *const (),\n}\n"
        "unsafe impl Sync for FloorDef {}\n"
        "::scheduler::__private::inventory::collect!(FloorDef);\n"
    )


def with_runtime(plain: str) -> str:
    """The plain crate's source, whose `main` also starts the scheduler with one task."""
    text = sub(r"^fn main\(\) \{", "fn plain_main() {", plain, "plain main", flags=re.M)
    return text + (
        "\n#[task(\"true\")]\nfn first() {\n    std::process::exit(0);\n}\n\n"
        "fn main() -> scheduler::Result<()> {\n    plain_main();\n    scheduler::run()\n}\n"
    )


def rustc_argv(command: dict, source: Path | None, scratch: str) -> list[str]:
    """The recorded rustc command, compiling `source` (the crate's own source when None)
    into `scratch`, with a fresh incremental directory."""
    argv = list(command["argv"])
    fixed = []
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if source is not None and arg == "src/main.rs":
            arg = str(source)
        elif arg.startswith("--error-format") or arg.startswith("--json"):
            continue  # human-readable errors, should a variant not compile
        elif arg == "--out-dir":
            fixed += [arg, scratch]
            skip = True
            continue
        elif arg == "-C" and argv[i + 1].startswith("incremental="):
            fixed += ["-C", f"incremental={scratch}/incremental"]
            skip = True
            continue
        fixed.append(arg)
    return fixed


def rustc_env(command: dict) -> dict:
    env = dict(os.environ, **command["env"], RUSTC_BOOTSTRAP="1")
    # Outside cargo the recorded jobserver descriptors are closed; rustc then makes its own
    # with one token per core, as cargo's would be on this machine.
    env.pop("CARGO_MAKEFLAGS", None)
    return env


def instructions(command: dict, source: Path | None) -> float:
    """Billions of instructions rustc executes to compile `source` (the crate's own source
    when None) with the recorded command, under valgrind."""
    with tempfile.TemporaryDirectory(dir=WORK) as scratch:
        out = Path(scratch) / "cachegrind.out"
        cachegrind = ["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out}", "--log-file=/dev/null"]
        argv = rustc_argv(command, source, scratch)
        result = subprocess.run([*cachegrind, *argv], cwd=command["cwd"], env=rustc_env(command), capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"rustc failed on {source or 'the crate'}:\n{result.stderr[-4000:]}")
        summary = next(line for line in out.read_text().splitlines() if line.startswith("summary:"))
        return int(summary.split()[1]) / 1e9


def wall(command: dict, source: Path | None, reps: int) -> float:
    """Median seconds of `reps` runs of the same rustc command, without valgrind (a full
    build each time: a fresh output and incremental directory)."""
    times = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory(dir=WORK) as scratch:
            argv = rustc_argv(command, source, scratch)
            started = time.monotonic()
            subprocess.run(argv, cwd=command["cwd"], env=rustc_env(command), check=True, capture_output=True)
            times.append(time.monotonic() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=run.COMPILE_IR_TASKS, help="functions per crate (default %(default)s)")
    parser.add_argument("--reps", type=int, default=3, help="timed builds of each variant, without valgrind (default %(default)s)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind not found: instructions cannot be counted", file=sys.stderr)
        return 1
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    # bench/run.py's target directory for the compile-cost scenario: after a run of it,
    # the dependencies are built already.
    target = WORK.parent / "target"
    crates = run.generate_compile_crates(WORK, count=args.tasks, kinds=("tasks", "plain"))
    print(f"building the generated crates ({args.tasks} functions) and their dependencies", flush=True)
    commands = {kind: record_command(crate, target) for kind, crate in crates.items()}
    try:
        expanded = expand(commands["tasks"])
        variants = {"expanded": expanded, "floor": floor(expanded)}
    except ExpansionChanged as e:
        print(f"{e}: update the substitutions in {Path(__file__).name}", file=sys.stderr)
        return 1
    once = WORK / "plain_run.rs"
    once.write_text(with_runtime((crates["plain"] / "src" / "main.rs").read_text()))
    builds = {
        "plain": (commands["plain"], None),
        "plain + run()": (commands["tasks"], once),
        "#[task]": (commands["tasks"], None),
    }
    for name, text in variants.items():
        source = WORK / f"{re.sub(r'[^a-z]+', '_', name)}.rs"
        source.write_text(text)
        builds[name] = (commands["tasks"], source)
    counts = {}
    for name, (command, source) in builds.items():
        counts[name] = instructions(command, source)
        print(f"  {name}: {counts[name]:.3f} G", flush=True)
    # Timed after all the valgrind runs, taking turns, so that a slow spell of the machine
    # does not fall on one variant only.
    times: dict[str, list[float]] = {name: [] for name in builds}
    for _ in range(args.reps):
        for name, (command, source) in builds.items():
            times[name].append(wall(command, source, 1))
    seconds = {name: statistics.median(t) for name, t in times.items()}
    plain, plain_s = counts["plain"], seconds["plain"]
    print(f"\nrustc, full debug build of {args.tasks} functions: instructions (valgrind) and wall time (median of {args.reps})\n")
    print("| build | instructions (G) | × plain | wall (s) | × plain |\n|---|---:|---:|---:|---:|")
    for name, count in counts.items():
        print(f"| {name} | {count:.2f} | {count / plain:.2f} | {seconds[name]:.2f} | {seconds[name] / plain_s:.2f} |")
    print(
        f"\nonce per program (the runtime's entry and generic code): {counts['plain + run()'] - plain:.2f} G; "
        f"macro expansion: {counts['#[task]'] - counts['expanded']:.2f} G; the definitions' content: "
        f"{counts['expanded'] - counts['floor']:.2f} G"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
