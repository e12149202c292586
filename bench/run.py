#!/usr/bin/env python3
"""Runs our scheduler and its peers on the same scenarios and prints one table.

    python3 bench/run.py                 # the whole suite (about 15 minutes)
    python3 bench/run.py --quick         # short windows, to check that everything runs
    python3 bench/run.py --only delay,startup --reps 5

Subjects (bench/PROTOCOL.md says how the driver talks to them): ours (bench/src/bin/ours.rs),
Rocketry 2.5.1 and APScheduler 3.11 (bench/peers/*.py, in a virtual environment this script
creates at bench/.venv), tokio-cron-scheduler (bench/src/bin/tcs.rs). Within a scenario the
subjects take turns, in an order that is reversed on every repetition, so that a drift of the
machine does not favour one of them. The table (markdown) is printed and written to
bench/results/latest.md; the raw measurements go to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = BENCH / ".venv"
RESULTS = BENCH / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------
# Subjects
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """One scheduler in one configuration."""

    name: str  # as shown in the table
    argv: tuple[str, ...]  # the program and its variant flags
    ours: bool = False


def subjects(python: str | None) -> dict[str, Subject]:
    release = BENCH / "target" / "release"
    found = {
        "ours": Subject("ours (async)", (str(release / "ours"), "--execution", "async"), True),
        "ours-main": Subject("ours (main)", (str(release / "ours"), "--execution", "main"), True),
        "tcs": Subject("tokio-cron-scheduler", (str(release / "tcs"),)),
    }
    if python:
        rocketry = (python, str(BENCH / "peers" / "rocketry_subject.py"))
        aps = (python, str(BENCH / "peers" / "apscheduler_subject.py"))
        found.update(
            {
                "rocketry": Subject(
                    "Rocketry (main, cycle 0.1 s)", rocketry + ("--cycle", "default", "--execution", "main")
                ),
                "rocketry-async": Subject(
                    "Rocketry (async, cycle 0.1 s)", rocketry + ("--cycle", "default", "--execution", "async")
                ),
                "rocketry-nocycle": Subject(
                    "Rocketry (main, cycle None)", rocketry + ("--cycle", "none", "--execution", "main")
                ),
                "rocketry-nocycle-async": Subject(
                    "Rocketry (async, cycle None)", rocketry + ("--cycle", "none", "--execution", "async")
                ),
                "aps": Subject("APScheduler (background)", aps + ("--kind", "background")),
                "aps-asyncio": Subject("APScheduler (asyncio)", aps + ("--kind", "asyncio")),
            }
        )
    return found


# Which configurations take part in which scenario. Execution mode only matters where runs
# happen often; an idle scheduler runs nothing.
PLAN = {
    "idle": ["ours", "rocketry", "rocketry-nocycle", "aps", "aps-asyncio", "tcs"],
    "throughput": [
        "ours",
        "ours-main",
        "rocketry",
        "rocketry-async",
        "rocketry-nocycle",
        "rocketry-nocycle-async",
        "aps",
        "aps-asyncio",
        "tcs",
    ],
    "delay": ["ours", "rocketry", "rocketry-nocycle", "aps", "aps-asyncio", "tcs"],
    "pipeline": ["ours", "rocketry", "rocketry-nocycle", "aps", "aps-asyncio", "tcs"],
    "startup": ["ours", "rocketry", "aps", "aps-asyncio", "tcs"],
}


# --------------------------------------------------------------------------------------
# Running one subject
# --------------------------------------------------------------------------------------


class RunFailed(Exception):
    pass


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces; the fields after it are fixed.
        fields = f.read().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLK_TCK


def proc_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start(subject: Subject, scenario: str, tasks: int, seconds: float) -> tuple[subprocess.Popen, float]:
    argv = list(subject.argv) + ["--scenario", scenario, "--tasks", str(tasks), "--seconds", str(int(seconds))]
    spawn_wall = time.time()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=BENCH)
    return proc, spawn_wall


def read_event(proc: subprocess.Popen, deadline: float) -> dict:
    """The next JSON line of the subject, before `deadline` (monotonic)."""
    import select

    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RunFailed("no answer in time")
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if not ready:
            continue
        line = proc.stdout.readline()
        if not line:
            proc.wait()
            raise RunFailed(f"exited with status {proc.returncode} without a result")
        line = line.strip()
        if not line:
            continue
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            raise RunFailed(f"printed something that is not JSON: {line[:80]!r}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()


def until_result(proc: subprocess.Popen, deadline: float) -> dict:
    while True:
        event = read_event(proc, deadline)
        if event.get("event") in ("result", "unsupported"):
            return event


def run_idle_together(chosen: list[Subject], tasks: int, seconds: float) -> dict[str, dict]:
    """Idle cost of every subject at once: each is started, and once all are ready and warmed
    up, their CPU time is read over the same windows. An idle scheduler needs no core, so
    running them side by side does not change what an idle one costs; a polling one (Rocketry)
    can only be measured lower under contention, never higher, and memory is per process.
    Measuring them side by side makes the scenario take 20 s per size instead of 20 s per
    subject and size. Results are keyed by subject name: a result, or `unsupported`, or
    `failed` with the reason."""
    procs: dict[str, subprocess.Popen] = {}
    results: dict[str, dict] = {}
    try:
        for subject in chosen:
            procs[subject.name] = start(subject, "idle", tasks, seconds)[0]
        setup_deadline = time.monotonic() + 300
        for name, proc in list(procs.items()):
            try:
                event = read_event(proc, setup_deadline)
            except RunFailed as e:
                results[name] = {"event": "failed", "why": str(e)}
                stop(procs.pop(name))
                continue
            if event.get("event") != "ready":
                results[name] = event if event.get("event") == "unsupported" else {
                    "event": "failed", "why": f"expected ready, got {event}"}
                stop(procs.pop(name))
        time.sleep(2)  # warm-up: whatever the schedulers do once after start
        # CPU over consecutive windows: their spread shows how steady the cost is.
        windows = 4
        cpu: dict[str, list[float]] = {name: [] for name in procs}
        before = {name: proc_cpu_seconds(proc.pid) for name, proc in procs.items()}
        t0 = time.monotonic()
        for _ in range(windows):
            time.sleep(seconds / windows)
            now = {name: proc_cpu_seconds(proc.pid) for name, proc in procs.items()}
            t1 = time.monotonic()
            for name in procs:
                cpu[name].append(100.0 * (now[name] - before[name]) / (t1 - t0))
            before, t0 = now, t1
        for name, proc in procs.items():
            rss = proc_rss_kb(proc.pid)
            if proc.poll() is not None:
                results[name] = {"event": "failed", "why": f"exited with status {proc.returncode} while idle"}
            else:
                results[name] = {"event": "result", "cpu_percent": cpu[name], "rss_kb": rss}
        return results
    finally:
        for proc in procs.values():
            stop(proc)


def run_timed(subject: Subject, scenario: str, tasks: int, seconds: float) -> dict:
    proc, spawn_wall = start(subject, scenario, tasks, seconds)
    try:
        # A minute past the window is plenty for every subject to report (Rocketry takes
        # about a second to start 1,000 tasks); a subject that hangs costs no more.
        result = until_result(proc, time.monotonic() + seconds + 60)
        result["spawn_wall"] = spawn_wall
        return result
    finally:
        stop(proc)


# --------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------


@dataclass
class Cell:
    """The measurements of one subject at one size of one scenario."""

    values: list[float] = field(default_factory=list)  # one per repetition (or sub-window)
    extra: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    unsupported: str | None = None

    def add_extra(self, key: str, value: float) -> None:
        self.extra.setdefault(key, []).append(value)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@dataclass(frozen=True)
class Metric:
    title: str
    unit: str
    higher_is_better: bool
    sizes: tuple[int, ...]
    seconds: float
    reps: int


def measure(scenario: str, metric: Metric, subject: Subject, size: int, cell: Cell, r: dict | None = None) -> None:
    """Runs one subject (unless its result `r` is given) and adds what it measured to `cell`."""
    if r is None:
        r = run_timed(subject, scenario, size, metric.seconds)
    if r.get("event") == "failed":
        raise RunFailed(r["why"])
    if r.get("event") == "unsupported":
        cell.unsupported = r.get("why", "unsupported")
        return
    if scenario == "idle":
        cell.values.extend(r["cpu_percent"])
        cell.add_extra("rss_mb", r["rss_kb"] / 1024)
    elif scenario == "throughput":
        per_second = r["runs_per_second"]
        if not per_second:
            raise RunFailed("no samples")
        cell.values.extend(float(x) for x in per_second)
        runs = max(r["runs"], 1)
        cell.add_extra("bytes_per_run", (r["rss_kb_end"] - r["rss_kb_start"]) * 1024 / runs)
        cell.add_extra("rss_mb", r["rss_kb_end"] / 1024)
    elif scenario in ("delay", "pipeline"):
        key = "delays_ms" if scenario == "delay" else "handoffs_ms"
        values = r[key]
        if not values:
            raise RunFailed("no firings")
        cell.values.extend(values)
    elif scenario == "startup":
        cell.values.append((r["first_run_wall"] - r["spawn_wall"]) * 1000)


def fmt(value: float) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def summary(scenario: str, cell: Cell) -> tuple[float, str]:
    """The headline figure of a cell and its spread, as text."""
    v = cell.values
    if scenario in ("delay", "pipeline"):
        return statistics.median(v), f"p99 {fmt(percentile(v, 0.99))}, max {fmt(max(v))}, n={len(v)}"
    med = statistics.median(v)
    return med, f"{fmt(min(v))} – {fmt(max(v))}, n={len(v)}"


def ratio_text(ours: float, peer: float, higher_is_better: bool) -> str:
    """Who leads, and by what factor."""
    if ours == peer:
        return "even"
    better, worse = (max(ours, peer), min(ours, peer)) if higher_is_better else (min(ours, peer), max(ours, peer))
    leader = "ours" if better == ours else "peer"
    if better == 0 or worse == 0:
        return f"{leader} ({fmt(better)} against {fmt(worse)})"
    factor = better / worse if higher_is_better else worse / better
    return f"{leader} {factor:,.0f}×" if factor >= 100 else f"{leader} {factor:,.1f}×"


# --------------------------------------------------------------------------------------
# Compile cost
# --------------------------------------------------------------------------------------

COMPILE_TASKS = 1000


COMPILE_KINDS = ("tasks", "by_hand", "plain")


def generate_compile_crates(
    work: Path, count: int = COMPILE_TASKS, kinds: tuple[str, ...] = COMPILE_KINDS
) -> dict[str, Path]:
    """Three crates with the same `count` functions (1,000): with `#[task]`; registered by
    hand through the runtime API (conditions parsed at run time, values read by name: the
    same program without compile-time checking); and plain, not scheduled at all."""
    scheduler_path = ROOT / "scheduler"
    crates = {}
    for kind in kinds:
        crate = work / kind
        (crate / "src").mkdir(parents=True, exist_ok=True)
        (crate / "Cargo.toml").write_text(
            f"""[package]
name = "compile-cost-{kind}"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
scheduler = {{ path = "{scheduler_path}" }}
"""
        )
        lines = ["#![allow(unused)]", "use scheduler::prelude::*;", ""]
        for i in range(count):
            # Four kinds of task, with conditions of several shapes and typed injection.
            k = i % 4
            if kind == "tasks":
                if k == 0 or i < 2:
                    cond, params, body = "cron 0 0 1 1 *", "", "1"
                elif k == 1:
                    cond, params, body = f"after task 't{i - 1}' succeeded", f"x: Return<t{i - 1}>", "*x + 1"
                elif k == 2:
                    cond = f"daily between 07:00 and 10:00 & after task 't{i - 1}' failed"
                    params, body = "", "2"
                else:
                    cond = f"every 10 minutes & after task 't{i - 2}' finished | retry 2"
                    params, body = f"x: Return<t{i - 2}>", "*x * 2"
                lines.append(f'#[task("{cond}")]')
                lines.append(f"async fn t{i}({params}) -> u32 {{ {body} }}")
            else:
                # by hand and plain: the same functions, with their inputs as plain values.
                if k == 0 or i < 2:
                    params, body = "", "1"
                elif k == 1:
                    params, body = "x: u32", "x + 1"
                elif k == 2:
                    params, body = "", "2"
                else:
                    params, body = "x: u32", "x * 2"
                lines.append(f"async fn t{i}({params}) -> u32 {{ {body} }}")
        if kind == "by_hand":
            # What a user without `#[task]` writes: each function wrapped in a closure
            # that reads its inputs by name, with its condition parsed when the program
            # starts.
            lines += ["", "fn tasks() -> Vec<TaskSpec> {", "    vec!["]
            for i in range(count):
                k = i % 4
                if k == 0 or i < 2:
                    cond, read, arg = "cron 0 0 1 1 *", "", ""
                elif k == 1:
                    cond, read, arg = f"after task 't{i - 1}' succeeded", f"let x = cx.returned_by::<u32>(\"t{i - 1}\")?; ", "*x"
                elif k == 2:
                    cond, read, arg = f"daily between 07:00 and 10:00 & after task 't{i - 1}' failed", "", ""
                else:
                    cond, read, arg = f"every 10 minutes & after task 't{i - 2}' finished | retry 2", f"let x = cx.returned_by::<u32>(\"t{i - 2}\")?; ", "*x"
                lines.append(
                    f'        TaskSpec::from_async("t{i}", |cx| async move {{ {read}Ok::<_, InjectError>(t{i}({arg}).await) }})'
                    f'.when("{cond}".parse::<Condition>().expect("condition")),'
                )
            lines += [
                "    ]",
                "}",
                "",
                "fn main() -> Result<(), Box<dyn std::error::Error>> {",
                "    let mut builder = scheduler::Scheduler::builder();",
                "    for task in tasks() {",
                "        builder = builder.task(task);",
                "    }",
                "    builder.build()?.run()?;",
                "    Ok(())",
                "}",
            ]
            lines[1] = "use scheduler::{Condition, InjectError, TaskSpec};"
        elif kind == "tasks":
            lines += [
                "",
                '#[task("true")]',
                "fn first() {",
                "    let wall = std::time::SystemTime::now()",
                "        .duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();",
                '    println!("{{\\"event\\": \\"result\\", \\"first_run_wall\\": {wall}}}");',
                "    std::process::exit(0);",
                "}",
                "",
                "fn main() -> scheduler::Result<()> {",
                "    scheduler::run()",
                "}",
            ]
        else:
            # Each function is called and its future polled once (they all finish at
            # once), as a program that uses its functions would: without a use, rustc would
            # not generate their code, and the comparison would be with nothing.
            lines += [
                "",
                "fn poll_once<F: std::future::Future>(future: F) -> std::task::Poll<F::Output> {",
                "    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());",
                "    std::pin::pin!(future).poll(&mut cx)",
                "}",
                "",
                "fn main() {",
            ]
            for i in range(count):
                k = i % 4
                arg = "1" if (k in (1, 3) and i >= 2) else ""
                lines.append(f"    std::hint::black_box(poll_once(t{i}({arg})));")
            lines.append("}")
        (crate / "src" / "main.rs").write_text("\n".join(lines) + "\n")
        crates[kind] = crate
    return crates


COMPILE_IR_TASKS = 200

# Runs rustc under cachegrind for the generated crate only (IR_OUT set), as itself otherwise.
RUSTC_CACHEGRIND = """#!/bin/sh
case "$*" in
  *"--crate-name compile_cost_"*)
    if [ -n "$IR_OUT" ]; then
      exec valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$IR_OUT" --log-file=/dev/null "$@"
    fi ;;
esac
exec "$@"
"""


def compile_instructions(work: Path) -> dict[str, float] | None:
    """Instructions (billions) that rustc executes for a full build of the `#[task]` and the
    plain crate with COMPILE_IR_TASKS functions, counted by valgrind: unlike wall time on a
    shared machine, the count is the same from one run to the next. None without valgrind."""
    if shutil.which("valgrind") is None:
        print("  valgrind not found: no instruction counts", flush=True)
        return None
    kinds = ("tasks", "plain")
    crates = generate_compile_crates(work / "ir", count=COMPILE_IR_TASKS, kinds=kinds)
    wrapper = work / "ir" / "rustc-cachegrind.sh"
    wrapper.write_text(RUSTC_CACHEGRIND)
    wrapper.chmod(0o755)
    # The timed builds' target directory: their dependencies are built already (cargo does
    # not rebuild for a changed RUSTC_WRAPPER), which saves a minute or more. The 200-task
    # binaries replace the 1,000-task ones there, which are measured before this.
    env = dict(os.environ, CARGO_TARGET_DIR=str(work / "target"), RUSTC_WRAPPER=str(wrapper))
    env.pop("IR_OUT", None)
    counts = {}
    for kind in kinds:
        manifest = ["--manifest-path", str(crates[kind] / "Cargo.toml")]
        subprocess.run(["cargo", "build", "--quiet", *manifest], check=True, env=env)
        subprocess.run(["cargo", "clean", "--quiet", "-p", f"compile-cost-{kind}", *manifest], check=True, env=env)
        out = work / "ir" / f"{kind}.cachegrind"
        subprocess.run(["cargo", "build", "--quiet", *manifest], check=True, env=dict(env, IR_OUT=str(out)))
        summary = next(line for line in out.read_text().splitlines() if line.startswith("summary:"))
        counts[kind] = int(summary.split()[1]) / 1e9
        print(f"  {kind:<8} instructions: {counts[kind]:.3f} G", flush=True)
    return counts


def cargo_build_seconds(crate: Path, target: Path, fresh: bool) -> float:
    """Seconds to build the crate alone (its dependencies are built): from nothing
    (`fresh`), or again after touching its source (incremental, nothing changed)."""
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    manifest = ["--manifest-path", str(crate / "Cargo.toml")]
    if fresh:
        package = f"compile-cost-{crate.name}"
        subprocess.run(["cargo", "clean", "--quiet", "-p", package, *manifest], check=True, env=env)
    else:
        (crate / "src" / "main.rs").touch()
    t0 = time.monotonic()
    subprocess.run(
        ["cargo", "build", "--quiet", *manifest],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - t0


# --------------------------------------------------------------------------------------
# Setup
# --------------------------------------------------------------------------------------


def build_rust() -> None:
    print("building the Rust subjects (release) ...", flush=True)
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--manifest-path", str(BENCH / "Cargo.toml")],
        check=True,
    )


def python_env() -> str | None:
    """The virtual environment's Python, with the peers installed, or None (with a reason)."""
    python = VENV / "bin" / "python"
    requirements = BENCH / "peers" / "requirements.txt"
    stamp = VENV / ".installed"
    try:
        if not python.exists():
            print("creating bench/.venv ...", flush=True)
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        if not stamp.exists() or stamp.read_text() != requirements.read_text():
            print("installing the Python peers (pip) ...", flush=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(requirements)],
                check=True,
            )
            stamp.write_text(requirements.read_text())
        return str(python)
    except (subprocess.CalledProcessError, OSError) as e:
        print(f"the Python peers are left out: {e}", flush=True)
        return None


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short windows and one size each: checks that everything runs")
    parser.add_argument("--only", help="comma-separated scenarios: idle,throughput,delay,pipeline,startup,compile")
    parser.add_argument("--reps", type=int, help="repetitions of the short scenarios (startup, compile)")
    parser.add_argument("--no-python", action="store_true", help="leave the Python peers out")
    args = parser.parse_args()

    quick = args.quick
    metrics = {
        "idle": Metric("Idle cost: CPU while every task waits", "% of one core", False,
                       (10, 1000) if quick else (10, 1000, 10000), 4 if quick else 20, 1),
        "throughput": Metric("Throughput: trivial runs of always-due tasks", "runs/s", True,
                             (1, 1000) if quick else (1, 100, 1000), 2 if quick else 10, 1),
        "delay": Metric("Start delay: body start − due instant (whole seconds)", "ms", False,
                        (1,), 4 if quick else 31, 1),
        "pipeline": Metric("Pipeline handoff: a's finish → c's start (a → b → c)", "ms", False,
                           (3,), 4 if quick else 16, 1),
        "startup": Metric("Start-up: process start → first run, 1,000 tasks", "ms", False,
                          (1000,), 0, args.reps or (1 if quick else 5)),
    }
    wanted = set(args.only.split(",")) if args.only else set(metrics) | {"compile"}
    unknown = wanted - set(metrics) - {"compile"}
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")

    started = time.monotonic()
    build_rust()
    python = None if args.no_python else python_env()
    available = subjects(python)

    report: list[str] = []
    durations: dict[str, float] = {}
    raw: dict = {"machine": machine(), "scenarios": {}}
    command = "python3 bench/run.py" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
    report.append(f"Measured with `{command}` on {machine()}, {time.strftime('%Y-%m-%d')}.")

    for scenario, metric in metrics.items():
        if scenario not in wanted:
            continue
        chosen = [available[k] for k in PLAN[scenario] if k in available]
        scenario_started = time.monotonic()
        cells: dict[tuple[str, int], Cell] = {}
        print(f"\n== {scenario}", flush=True)
        for size in metric.sizes:
            for rep in range(metric.reps):
                order = chosen if rep % 2 == 0 else list(reversed(chosen))
                together = None
                if scenario == "idle":
                    runnable = [s for s in order if not cells.setdefault((s.name, size), Cell()).unsupported]
                    together = run_idle_together(runnable, size, metric.seconds)
                for subject in order:
                    cell = cells.setdefault((subject.name, size), Cell())
                    if cell.unsupported:
                        continue
                    try:
                        measure(scenario, metric, subject, size, cell, together[subject.name] if together else None)
                        status = "unsupported" if cell.unsupported else "ok"
                    except (RunFailed, KeyError, OSError, subprocess.SubprocessError) as e:
                        cell.failures.append(str(e))
                        status = f"failed: {e}"
                    print(f"  {subject.name:<32} size {size:>6}  rep {rep + 1}: {status}", flush=True)
        report.append(render(scenario, metric, chosen, cells))
        durations[scenario] = time.monotonic() - scenario_started
        raw["scenarios"][scenario] = {
            f"{name} @ {size}": {"values": c.values, "extra": c.extra, "failures": c.failures,
                                 "unsupported": c.unsupported}
            for (name, size), c in cells.items()
        }

    if "compile" in wanted:
        compile_started = time.monotonic()
        report.append(compile_cost(reps=args.reps or (1 if quick else 3), raw=raw))
        durations["compile"] = time.monotonic() - compile_started

    elapsed = time.monotonic() - started
    raw["durations_s"] = durations
    parts = ", ".join(f"{name} {seconds / 60:.1f}" for name, seconds in durations.items())
    report.append(f"The suite took {elapsed / 60:.1f} minutes ({parts}; the rest is building and setting up).")
    text = "\n\n".join(report) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(text)
    (RESULTS / "latest.json").write_text(json.dumps(raw, indent=1))
    print("\n" + text)
    return 0


def render(scenario: str, metric: Metric, chosen: list[Subject], cells: dict[tuple[str, int], Cell]) -> str:
    direction = "higher is better" if metric.higher_is_better else "lower is better"
    head = "median"
    spread = "p99, max, firings" if scenario in ("delay", "pipeline") else "min – max, samples"
    extra_head = {
        "idle": " RSS (MB) |",
        "throughput": " memory per run (bytes) |",
    }.get(scenario, "")
    lines = [
        f"### {metric.title} ({metric.unit}, {direction})",
        "",
        f"| tasks | scheduler | {head} | {spread} | lead |{extra_head}",
        "|---:|---|---:|---|---|" + ("---:|" if extra_head else ""),
    ]
    ours_name = next((s.name for s in chosen if s.ours), None)
    for size in metric.sizes:
        ours_cell = cells.get((ours_name, size)) if ours_name else None
        ours_value = summary(scenario, ours_cell)[0] if ours_cell and ours_cell.values else None
        for subject in chosen:
            cell = cells.get((subject.name, size))
            if cell is None:
                continue
            if cell.unsupported:
                row = f"| {size:,} | {subject.name} | — | cannot express it: {cell.unsupported} | — |"
            elif not cell.values:
                why = cell.failures[-1] if cell.failures else "no data"
                row = f"| {size:,} | {subject.name} | — | failed: {why} | — |"
            else:
                value, spread_text = summary(scenario, cell)
                if subject.ours or ours_value is None:
                    ratio = "—"
                else:
                    ratio = ratio_text(ours_value, value, metric.higher_is_better)
                row = f"| {size:,} | {subject.name} | {fmt(value)} | {spread_text} | {ratio} |"
            if extra_head:
                key = "rss_mb" if scenario == "idle" else "bytes_per_run"
                xs = cell.extra.get(key, [])
                row += f" {fmt(statistics.median(xs))} |" if xs else " — |"
            lines.append(row)
    return "\n".join(lines)


def compile_cost(reps: int, raw: dict) -> str:
    print("\n== compile", flush=True)
    work = BENCH / "compile" / "work"
    target = work / "target"
    crates = generate_compile_crates(work)
    # Dependencies once, so that only the generated crates themselves are timed.
    for crate in crates.values():
        cargo_build_seconds(crate, target, fresh=False)
    times: dict[str, dict[str, list[float]]] = {k: {"fresh": [], "touch": []} for k in COMPILE_KINDS}
    for rep in range(reps):
        order = COMPILE_KINDS if rep % 2 == 0 else tuple(reversed(COMPILE_KINDS))
        for kind in order:
            for how in ("fresh", "touch"):
                if kind == "by_hand" and how == "fresh" and times[kind][how]:
                    # A reference, four times slower than the others: one full build of it
                    # keeps the suite short.
                    continue
                seconds = cargo_build_seconds(crates[kind], target, fresh=how == "fresh")
                times[kind][how].append(seconds)
                print(f"  {kind:<8} {how:<5} rep {rep + 1}: {seconds:.2f} s", flush=True)
    raw["compile"] = times
    med = {k: {h: statistics.median(v) for h, v in t.items()} for k, t in times.items()}
    startup = []
    binary = target / "debug" / "compile-cost-tasks"
    for _ in range(reps):
        spawn = time.time()
        out = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60, cwd=work)
        for line in out.stdout.splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("event") == "result":
                startup.append((event["first_run_wall"] - spawn) * 1000)
    raw["compile_startup_ms"] = startup
    instructions = compile_instructions(work)
    raw["compile_instructions_g"] = instructions
    labels = {
        "tasks": f"{COMPILE_TASKS:,} `#[task]` functions",
        "by_hand": f"the same {COMPILE_TASKS:,} functions registered by hand (`TaskSpec`, conditions parsed at start-up)",
        "plain": f"the same {COMPILE_TASKS:,} functions, plain (not scheduled)",
    }

    def cell(kind: str, how: str) -> str:
        xs = times[kind][how]
        if len(xs) == 1:
            return f"{xs[0]:.2f} (one build)"
        return f"{med[kind][how]:.2f} ({min(xs):.2f} – {max(xs):.2f})"

    lines = [
        f"### Compile cost: `cargo build` (debug) of a crate with {COMPILE_TASKS:,} functions (s, lower is better)",
        "",
        f"Median (min – max) of {reps}; the dependencies are built. *Full*: the crate from nothing "
        "(`cargo clean -p` first); *again*: after touching its source (incremental, nothing changed).",
        "",
        "| crate | full build | again |",
        "|---|---:|---:|",
    ]
    for kind in COMPILE_KINDS:
        lines.append(f"| {labels[kind]} | {cell(kind, 'fresh')} | {cell(kind, 'touch')} |")
    lines += [
        "",
        f"`#[task]` costs {med['tasks']['fresh'] / med['plain']['fresh']:.2f}× the plain build "
        f"({med['tasks']['touch'] / med['plain']['touch']:.2f}× again), and "
        f"{med['tasks']['fresh'] / med['by_hand']['fresh']:.2f}× the same program written against "
        f"the runtime API by hand ({med['tasks']['touch'] / med['by_hand']['touch']:.2f}× again).",
    ]
    if instructions:
        lines.append(
            f"Instructions executed by rustc for a full build with {COMPILE_IR_TASKS} functions (valgrind; the same "
            f"from run to run, unlike the times above): `#[task]` {instructions['tasks']:.2f} G, plain "
            f"{instructions['plain']:.2f} G, {instructions['tasks'] / instructions['plain']:.2f}×."
        )
    if startup:
        lines.append(
            f"The `#[task]` crate's binary (debug build, tasks read from the linker section that `#[task]` writes to, conditions decoded at "
            f"start-up from the form the macro compiled) reaches its first run {fmt(statistics.median(startup))} ms "
            f"after the process starts "
            f"(median of {len(startup)})."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
