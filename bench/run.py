#!/usr/bin/env python3
"""Runs our scheduler and its peers on the same scenarios and prints one table.

    python3 bench/run.py                 # the whole suite (about 30 minutes)
    python3 bench/run.py --quick         # short windows, to check that everything runs
    python3 bench/run.py --only delay,startup --reps 5
    python3 bench/run.py --only throughput,restart --subjects ours,ours-sqlite,rocketry-sqlite
    python3 bench/run.py --only queue    # the job queue against graphile-worker and apalis

Subjects (bench/PROTOCOL.md says how the driver talks to them): ours (bench/src/bin/ours.rs),
Rocketry 2.5.1 and APScheduler 3.11 (bench/peers/*.py, in a virtual environment this script
creates at bench/.venv), tokio-cron-scheduler (bench/src/bin/tcs.rs). Ours runs with each of its log
stores (memory, a SQLite file, PostgreSQL), Rocketry with its default in-memory log and with the
persistent repository its docs show (redbird's SQLRepo on a SQLite file); every run of a subject
with a store gets a fresh one (a new file, a new database), and the restart scenario's runs a copy
of one filled beforehand. Within a scenario the
subjects take turns, in an order that is reversed on every repetition, so that a drift of the
machine does not favour one of them. The table (markdown) is printed and written to
bench/results/latest.md; the raw measurements go to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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
NODE = BENCH / ".node"
# The Node.js peer of the queue scenario, as measured in queue-anchors.md: 0.17.3 is the
# newest graphile-worker that supports Node 20.
NODE_PACKAGES = "graphile-worker@0.17.3 pg@8.23.1"
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
    # Where the subject keeps its log, given to it as `--database`: "memory" (ours only),
    # "sqlite" (a file path) or "postgres" (a URL); None for a subject's own default.
    store: str | None = None


def subjects(python: str | None) -> dict[str, Subject]:
    release = BENCH / "target" / "release"
    ours = str(release / "ours")
    found = {
        "ours": Subject("ours (async)", (ours, "--execution", "async"), True, "memory"),
        "ours-main": Subject("ours (main)", (ours, "--execution", "main"), True, "memory"),
        "ours-sqlite": Subject("ours (async, SQLite)", (ours, "--execution", "async"), True, "sqlite"),
        "ours-main-sqlite": Subject("ours (main, SQLite)", (ours, "--execution", "main"), True, "sqlite"),
        "ours-postgres": Subject("ours (async, PostgreSQL)", (ours, "--execution", "async"), True, "postgres"),
        "ours-main-postgres": Subject("ours (main, PostgreSQL)", (ours, "--execution", "main"), True, "postgres"),
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
                "rocketry-sqlite": Subject(
                    "Rocketry (main, cycle 0.1 s, SQLite)",
                    rocketry + ("--cycle", "default", "--execution", "main"),
                    store="sqlite",
                ),
                "rocketry-nocycle-sqlite": Subject(
                    "Rocketry (main, cycle None, SQLite)",
                    rocketry + ("--cycle", "none", "--execution", "main"),
                    store="sqlite",
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
    # Each task waits on a custom condition re-checked every minute (ours only: the peers'
    # conditions are polled on every cycle, which `idle` already measures for Rocketry).
    "idle-custom": ["ours"],
    "throughput": [
        "ours",
        "ours-main",
        "ours-sqlite",
        "ours-main-sqlite",
        "ours-postgres",
        "ours-main-postgres",
        "rocketry",
        "rocketry-async",
        "rocketry-nocycle",
        "rocketry-nocycle-async",
        "rocketry-sqlite",
        "rocketry-nocycle-sqlite",
        "aps",
        "aps-asyncio",
        "tcs",
    ],
    "delay": ["ours", "ours-sqlite", "ours-postgres", "rocketry", "rocketry-nocycle", "aps", "aps-asyncio", "tcs"],
    "pipeline": ["ours", "ours-sqlite", "ours-postgres", "rocketry", "rocketry-nocycle", "aps", "aps-asyncio", "tcs"],
    "startup": ["ours", "ours-sqlite", "rocketry", "aps", "aps-asyncio", "tcs"],
    # Start-up again, with the log already holding records (sizes are records, not tasks).
    "restart": ["ours-sqlite", "ours-postgres", "rocketry-sqlite"],
}

# The tasks of the restart scenario: startup's idle tasks and `first`, with the records of
# the filled log spread over the idle ones. Ten, not startup's thousand: Rocketry checks a
# `cron` condition by querying its log table, which redbird leaves without an index, and
# a thousand such scans of a million rows would take an hour per start.
RESTART_TASKS = 10


# --------------------------------------------------------------------------------------
# Stores
# --------------------------------------------------------------------------------------


class Stores:
    """Fresh log stores for the subjects that keep one: a new SQLite file, or a new
    PostgreSQL database, for every run, and for the restart scenario a copy of a store
    filled once per subject and size.

    PostgreSQL is the server of `SCHEDULER_BENCH_POSTGRES_URL` (else
    `SCHEDULER_TEST_POSTGRES_URL`, else the local postgres://postgres@127.0.0.1:5432/test),
    on which the benchmark drops and creates databases of its own (`scheduler_bench*`)
    through `psql`, never touching the one the URL names."""

    DATABASE = "scheduler_bench"

    def __init__(self) -> None:
        self.dir = RESULTS / "stores"
        self.url = os.environ.get("SCHEDULER_BENCH_POSTGRES_URL") or os.environ.get(
            "SCHEDULER_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"
        )
        self.filled: set[str] = set()  # the filled stores (file stems and database names)
        self.databases: set[str] = set()  # the PostgreSQL databases created

    def postgres_url(self, database: str) -> str:
        base, _, query = self.url.partition("?")
        base = base.rsplit("/", 1)[0]
        return f"{base}/{database}" + (f"?{query}" if query else "")

    def psql(self, *statements: str) -> None:
        argv = ["psql", "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", self.url]
        for statement in statements:
            argv += ["-c", statement]
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            raise RunFailed(f"psql: {done.stderr.strip() or done.returncode}")

    def postgres_available(self) -> str | None:
        """Why the PostgreSQL subjects cannot run, or None."""
        if shutil.which("psql") is None:
            return "psql is not installed"
        try:
            self.psql("SELECT 1")
        except RunFailed as e:
            return str(e)
        return None

    def sqlite_path(self, key: str) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        return self.dir / f"{key}.db"

    @staticmethod
    def remove_sqlite(path: Path) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def fresh(self, subject: Subject, template: str | None = None) -> list[str]:
        """The `--database` flag of a run of `subject`, on a store that is new (or a copy
        of the filled store `template`)."""
        if subject.store is None:
            return []
        if subject.store == "memory":
            return ["--database", "memory:"]
        key = subject.argv[-1] if subject.ours else "rocketry"
        if subject.store == "sqlite":
            path = self.sqlite_path(f"run-{key}")
            self.remove_sqlite(path)
            if template is not None:
                for suffix in ("", "-wal", "-shm"):
                    source = Path(f"{self.sqlite_path(template)}{suffix}")
                    if source.exists():
                        shutil.copyfile(source, f"{path}{suffix}")
            return ["--database", str(path)]
        if subject.store == "postgres":
            create = f"CREATE DATABASE {self.DATABASE}" + (f" TEMPLATE {template}" if template else "")
            self.psql(f"DROP DATABASE IF EXISTS {self.DATABASE} WITH (FORCE)", create)
            self.databases.add(self.DATABASE)
            return ["--database", self.postgres_url(self.DATABASE)]
        raise ValueError(f"unknown store {subject.store}")

    def filled_copy(self, subject: Subject, records: int) -> list[str]:
        """The `--database` flag of a run of `subject` on a copy of a store holding
        `records` records of past runs (filled by the subject itself the first time)."""
        kind = "ours" if subject.ours else "rocketry"
        template = f"{self.DATABASE}_{kind}_{subject.store}_{records}"
        if template not in self.filled:
            if subject.store == "sqlite":
                path = self.sqlite_path(template)
                self.remove_sqlite(path)
                target = ["--database", str(path)]
            else:
                self.psql(f"DROP DATABASE IF EXISTS {template} WITH (FORCE)", f"CREATE DATABASE {template}")
                self.databases.add(template)
                target = ["--database", self.postgres_url(template)]
            argv = list(subject.argv) + ["--scenario", "fill", "--tasks", str(RESTART_TASKS),
                                         "--records", str(records)] + target
            print(f"  filling a store of {subject.name} with {records:,} records ...", flush=True)
            done = subprocess.run(argv, capture_output=True, text=True, cwd=BENCH)
            if done.returncode != 0:
                raise RunFailed(f"fill: {done.stderr.strip()[-300:] or done.returncode}")
            self.filled.add(template)
        return self.fresh(subject, template)

    def cleanup(self) -> None:
        """Removes the files and databases of the runs."""
        if self.dir.exists():
            shutil.rmtree(self.dir)
        if self.databases:
            try:
                self.psql(*(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)" for name in sorted(self.databases)))
            except RunFailed as e:
                print(f"could not drop the benchmark's databases: {e}", flush=True)


STORES = Stores()


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


def start(
    subject: Subject, scenario: str, tasks: int, seconds: float, store: list[str] | None = None
) -> tuple[subprocess.Popen, float]:
    argv = list(subject.argv) + ["--scenario", scenario, "--tasks", str(tasks), "--seconds", str(int(seconds))]
    argv += STORES.fresh(subject) if store is None else store
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


def run_idle_together(chosen: list[Subject], tasks: int, seconds: float, scenario: str = "idle") -> dict[str, dict]:
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
            procs[subject.name] = start(subject, scenario, tasks, seconds)[0]
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
    store = None
    if scenario == "restart":
        # The size of a restart is the number of records in the log.
        store = STORES.filled_copy(subject, tasks)
        scenario, tasks = "startup", RESTART_TASKS
    proc, spawn_wall = start(subject, scenario, tasks, seconds, store)
    try:
        # A minute past the window is plenty for every subject to report (Rocketry takes
        # about a second to start 1,000 tasks); a subject that hangs costs no more. Rocketry
        # on a log of a million records took 51-59 s to start ten tasks on a loaded
        # machine, and more than 60 s on a busier one: a restart gets five minutes.
        limit = 300 if store is not None else 60
        result = until_result(proc, time.monotonic() + seconds + limit)
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
    if scenario in ("idle", "idle-custom"):
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
    elif scenario in ("startup", "restart"):
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


def node_env() -> str | None:
    """`node`, with graphile-worker installed from the npm registry into bench/.node (the
    peer of the queue scenario), or None (with a reason)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        print("graphile-worker is left out: node or npm is not installed", flush=True)
        return None
    NODE.mkdir(exist_ok=True)
    stamp = NODE / ".installed"
    try:
        if not stamp.exists() or stamp.read_text() != NODE_PACKAGES:
            print("installing graphile-worker (npm) ...", flush=True)
            package = NODE / "package.json"
            if not package.exists():
                package.write_text('{"private": true}\n')
            subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--silent", *NODE_PACKAGES.split()],
                check=True,
                cwd=NODE,
            )
            stamp.write_text(NODE_PACKAGES)
        return node
    except (subprocess.CalledProcessError, OSError) as e:
        print(f"graphile-worker is left out: {e}", flush=True)
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
    parser.add_argument(
        "--only", help="comma-separated scenarios: idle,idle-custom,throughput,delay,pipeline,startup,restart,compile,queue"
    )
    parser.add_argument("--reps", type=int, help="repetitions of the short scenarios (startup, restart, compile)")
    parser.add_argument(
        "--subjects", help="comma-separated subjects (keys of PLAN: ours,ours-sqlite,rocketry-sqlite,...); default all"
    )
    parser.add_argument("--no-python", action="store_true", help="leave the Python peers out")
    args = parser.parse_args()

    quick = args.quick
    metrics = {
        "idle": Metric("Idle cost: CPU while every task waits", "% of one core", False,
                       (10, 1000) if quick else (10, 1000, 10000), 4 if quick else 20, 1),
        # A minute per window: every task's condition is re-checked once a minute, all in
        # the same second, so a shorter window would see the burst or not.
        "idle-custom": Metric("Idle cost with custom conditions: 1,000 tasks, each re-checked every minute",
                              "% of one core", False, (1000,), 240, 1),
        "throughput": Metric("Throughput: trivial runs of always-due tasks", "runs/s", True,
                             (1, 1000) if quick else (1, 100, 1000), 2 if quick else 10, 1),
        "delay": Metric("Start delay: body start − due instant (whole seconds)", "ms", False,
                        (1,), 4 if quick else 31, 1),
        "pipeline": Metric("Pipeline handoff: a's finish → c's start (a → b → c)", "ms", False,
                           (3,), 4 if quick else 16, 1),
        "startup": Metric("Start-up: process start → first run, 1,000 tasks", "ms", False,
                          (1000,), 0, args.reps or (1 if quick else 5)),
        "restart": Metric(f"Restart: process start → first run, {RESTART_TASKS} tasks, the log holding N records",
                          "ms", False, (10_000, 1_000_000) if quick else (10_000, 100_000, 1_000_000), 0,
                          args.reps or (1 if quick else 5)),
    }
    wanted = set(args.only.split(",")) if args.only else set(metrics) | {"compile", "queue"}
    unknown = wanted - set(metrics) - {"compile", "queue"}
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")

    started = time.monotonic()
    build_rust()
    python = None if args.no_python or wanted <= {"queue", "compile"} else python_env()
    available = subjects(python)
    if args.subjects:
        keys = set(args.subjects.split(","))
        unknown = keys - set(available)
        if unknown:
            parser.error(f"unknown or unavailable subjects: {', '.join(sorted(unknown))}")
        available = {k: v for k, v in available.items() if k in keys}
    if any(s.store == "postgres" for s in available.values()):
        why = STORES.postgres_available()
        if why:
            print(f"the PostgreSQL subjects are left out: {why}", flush=True)
            available = {k: v for k, v in available.items() if v.store != "postgres"}

    report: list[str] = []
    durations: dict[str, float] = {}
    raw: dict = {"machine": machine(), "scenarios": {}}
    command = "python3 bench/run.py" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
    report.append(f"Measured with `{command}` on {machine()}, {time.strftime('%Y-%m-%d')}.")

    try:
        run_scenarios(metrics, wanted, available, report, raw, durations)
        if "queue" in wanted:
            queue_started = time.monotonic()
            report.append(queue_scenario(reps=args.reps or (1 if quick else 3), quick=quick, raw=raw))
            durations["queue"] = time.monotonic() - queue_started
    finally:
        STORES.cleanup()
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


def run_scenarios(metrics: dict, wanted: set[str], available: dict[str, Subject], report: list[str], raw: dict,
                  durations: dict[str, float]) -> None:
    """Runs the wanted scenarios, adding a table per scenario to `report`."""
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
                if scenario in ("idle", "idle-custom"):
                    runnable = [s for s in order if not cells.setdefault((s.name, size), Cell()).unsupported]
                    together = run_idle_together(runnable, size, metric.seconds, scenario)
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


def render(scenario: str, metric: Metric, chosen: list[Subject], cells: dict[tuple[str, int], Cell]) -> str:
    direction = "higher is better" if metric.higher_is_better else "lower is better"
    head = "median"
    spread = "p99, max, firings" if scenario in ("delay", "pipeline") else "min – max, samples"
    extra_head = {
        "idle": " RSS (MB) |",
        "idle-custom": " RSS (MB) |",
        "throughput": " memory per run (bytes) |",
    }.get(scenario, "")
    lines = [
        f"### {metric.title} ({metric.unit}, {direction})",
        "",
        f"| {'records' if scenario == 'restart' else 'tasks'} | scheduler | {head} | {spread} | lead |{extra_head}",
        "|---:|---|---:|---|---|" + ("---:|" if extra_head else ""),
    ]
    # A peer is compared with ours on the same kind of store where there is one (Rocketry on
    # SQLite with ours on SQLite), else with the first of ours; ours on another store than
    # the first is given as a multiple of the first (SQLite's throughput against memory's).
    first_ours = next((s for s in chosen if s.ours), None)

    def headline(subject: Subject | None, size: int) -> float | None:
        cell = cells.get((subject.name, size)) if subject else None
        return summary(scenario, cell)[0] if cell and cell.values else None

    for size in metric.sizes:
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
                if subject.ours:
                    base = headline(first_ours, size)
                    if subject is first_ours or base in (None, 0):
                        ratio = "—"
                    else:
                        ratio = f"{value / base:.2f}× {first_ours.name}"
                else:
                    same_store = next((s for s in chosen if s.ours and s.store == subject.store), first_ours)
                    ours_value = headline(same_store, size)
                    ratio = "—" if ours_value is None else ratio_text(ours_value, value, metric.higher_is_better)
                    if ours_value is not None and same_store is not first_ours:
                        ratio += f" (against {same_store.name})"
                row = f"| {size:,} | {subject.name} | {fmt(value)} | {spread_text} | {ratio} |"
            if extra_head:
                key = "rss_mb" if scenario in ("idle", "idle-custom") else "bytes_per_run"
                xs = cell.extra.get(key, [])
                row += f" {fmt(statistics.median(xs))} |" if xs else " — |"
            lines.append(row)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# The job queue (issue 24): ours against graphile-worker and apalis
# --------------------------------------------------------------------------------------

QUEUE_JOBS = 20_000

# Every PostgreSQL subject reaches the server the same way: TCP on loopback, without TLS.
# node-postgres (graphile-worker) connects without TLS unless told to; sqlx (ours, apalis)
# prefers TLS when the server offers it, as this one does, which costs ours about 15 % of
# its throughput here (TLS record encryption on both sides and a slower handshake for each
# connection). A URL that names its own `sslmode` keeps it.
QUEUE_SSLMODE = "disable"


def queue_postgres_url(database: str) -> str:
    """The URL every queue subject gets for `database`: the benchmark's server, same transport."""
    url = STORES.postgres_url(database)
    if "sslmode=" in url:
        return url
    return url + ("&" if "?" in url else "?") + f"sslmode={QUEUE_SSLMODE}"
QUEUE_LATENCY_SAMPLES = 200


@dataclass(frozen=True)
class QueueSubject:
    """One queue in one configuration, for throughput (`latency` 0) or latency."""

    name: str
    argv: tuple[str, ...]
    store: str  # "sqlite" or "postgres"
    ours: bool
    workers: int
    latency: int = 0


def queue_subjects(node: str | None, quick: bool) -> list[QueueSubject]:
    release = BENCH / "target" / "release"
    ours = (str(release / "ours"), "--scenario", "queue")
    apalis = (str(release / "apalis"), "--scenario", "queue")
    samples = 50 if quick else QUEUE_LATENCY_SAMPLES
    chosen = []
    for store, label in (("postgres", "PostgreSQL"), ("sqlite", "SQLite")):
        for workers in (1, 4):
            chosen.append(QueueSubject(f"ours ({label}, {workers} worker process{'es' if workers > 1 else ''})",
                                       ours + ("--workers", str(workers)), store, True, workers))
    chosen += [
        QueueSubject("apalis 1.0 (PostgreSQL, defaults: batch 10), 1 worker", apalis + ("--workers", "1", "--batch", "10"),
                     "postgres", False, 1),
        QueueSubject("apalis 1.0 (PostgreSQL, defaults: batch 10), 4 workers in 1 process",
                     apalis + ("--workers", "4", "--batch", "10"), "postgres", False, 4),
        QueueSubject("apalis 1.0 (PostgreSQL, batch 100), 4 workers in 1 process",
                     apalis + ("--workers", "4", "--batch", "100"), "postgres", False, 4),
    ]
    if node:
        gw = (node, str(BENCH / "peers" / "graphile_subject.js"), "--scenario", "queue")
        chosen += [
            QueueSubject("graphile-worker 0.17.3 (perfTest preset), 1 process × 10",
                         gw + ("--workers", "1", "--batching", "1"), "postgres", False, 1),
            QueueSubject("graphile-worker 0.17.3 (perfTest preset), 4 processes × 10",
                         gw + ("--workers", "4", "--batching", "1"), "postgres", False, 4),
        ]
    # Latency: one worker, idle, jobs enqueued one at a time.
    chosen += [
        QueueSubject("ours (PostgreSQL, LISTEN/NOTIFY)", ours + ("--workers", "1"), "postgres", True, 1, samples),
        QueueSubject("ours (SQLite, another process, polling every 5 ms)", ours + ("--workers", "1", "--poll-ms", "5"),
                     "sqlite", True, 1, samples),
    ]
    if node:
        chosen.append(QueueSubject("graphile-worker 0.17.3 (perfTest preset, in-process worker)",
                                   gw + ("--batching", "1"), "postgres", False, 1, samples))
    return chosen


def postgres_postmaster() -> int | None:
    """The pid of the benchmark's PostgreSQL server when it runs on this machine and its
    `postmaster.pid` is readable (for the server's CPU time), else None."""
    done = subprocess.run(["psql", "--no-psqlrc", "-Atc", "SHOW data_directory", STORES.url],
                          capture_output=True, text=True)
    try:
        with open(Path(done.stdout.strip()) / "postmaster.pid") as f:
            pid = int(f.readline())
        proc_cpu_seconds(pid)
        return pid
    except (OSError, ValueError):
        return None


def server_cpu_seconds(postmaster: int) -> float:
    """CPU time of a PostgreSQL server so far: the postmaster, the backends it has reaped
    (its children's times) and the processes it runs now."""
    with open(f"/proc/{postmaster}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    total = sum(int(x) for x in fields[11:15]) / CLK_TCK
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == postmaster:
                total += (int(fields[11]) + int(fields[12])) / CLK_TCK
        except (OSError, ValueError, IndexError):
            continue
    return total


def children_cpu_seconds() -> float:
    """CPU time of this process's children that have been waited for, and of theirs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def queue_run(subject: QueueSubject, index: int) -> dict:
    """One run of a queue subject on a fresh store; its `result` event, with the CPU time
    of the whole run (enqueue, drain, count) spent by the subject's processes and, for a
    local PostgreSQL, by the server."""
    if subject.store == "sqlite":
        path = STORES.sqlite_path(f"queue-{index}")
        STORES.remove_sqlite(path)
        store = ["--database", str(path)]
    else:
        database = f"{Stores.DATABASE}_queue"
        STORES.psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", f"CREATE DATABASE {database}")
        STORES.databases.add(database)
        store = ["--database", queue_postgres_url(database)]
    argv = list(subject.argv) + store
    if subject.latency:
        argv += ["--latency", str(subject.latency)]
    else:
        argv += ["--tasks", str(QUEUE_JOBS)]
    postmaster = postgres_postmaster() if subject.store == "postgres" else None
    server_before = server_cpu_seconds(postmaster) if postmaster else 0.0
    subject_before = children_cpu_seconds()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=BENCH)
    try:
        event = until_result(proc, time.monotonic() + 900)
        # The subject ends by itself once it has said its result (its workers stopped);
        # waiting for it counts its CPU time whole.
        proc.wait(timeout=10)
    except RunFailed:
        # A subject that fails says why on its last line.
        raise
    except subprocess.TimeoutExpired:
        pass
    finally:
        stop(proc)
    if event.get("event") != "result":
        raise RunFailed(event.get("why", str(event)))
    event["cpu_subject_s"] = children_cpu_seconds() - subject_before
    if postmaster:
        # The subject's server processes exit once it has closed its connections.
        time.sleep(0.3)
        event["cpu_server_s"] = server_cpu_seconds(postmaster) - server_before
    return event


def queue_scenario(reps: int, quick: bool, raw: dict) -> str:
    """Throughput and latency of the job queues, side by side in one run; a markdown
    section with the tables and whether ours meets its goals."""
    print("\n== queue", flush=True)
    why = STORES.postgres_available()
    node = node_env()
    chosen = queue_subjects(node, quick)
    if why:
        print(f"the PostgreSQL queue subjects are left out: {why}", flush=True)
        chosen = [s for s in chosen if s.store != "postgres"]
    results: dict[str, list[dict]] = {s.name: [] for s in chosen}
    failures: dict[str, list[str]] = {s.name: [] for s in chosen}
    for rep in range(reps):
        order = chosen if rep % 2 == 0 else list(reversed(chosen))
        for i, subject in enumerate(order):
            try:
                event = queue_run(subject, i)
                results[subject.name].append(event)
                if subject.latency:
                    status = f"p50 {fmt(statistics.median(event['latency_from_call_ms']))} ms"
                else:
                    status = f"{event['jobs_per_second']:,.0f} jobs/s"
            except (RunFailed, OSError, subprocess.SubprocessError, KeyError) as e:
                failures[subject.name].append(str(e))
                status = f"failed: {e}"
            print(f"  {subject.name:<64} rep {rep + 1}: {status}", flush=True)
    raw["queue"] = {"results": results, "failures": failures}

    def spread(xs: list[float]) -> str:
        return f"{fmt(statistics.median(xs))} [{fmt(min(xs))}–{fmt(max(xs))}]"

    def cpu_parts(events: list[dict]) -> tuple[float | None, float]:
        """Median CPU µs per job of the server (None when not measured) and of the subject."""
        subject = statistics.median(e["cpu_subject_s"] for e in events) / QUEUE_JOBS * 1e6
        servers = [e["cpu_server_s"] for e in events if "cpu_server_s" in e]
        server = statistics.median(servers) / QUEUE_JOBS * 1e6 if servers else None
        return server, subject

    def cpu_per_job(events: list[dict]) -> str:
        server, subject = cpu_parts(events)
        if server is None:
            return f"{fmt(subject)} (queue only)"
        return f"{fmt(server)} + {fmt(subject)} = {fmt(server + subject)}"

    lines = [
        f"### Job queue: {QUEUE_JOBS:,} jobs, enqueue → claim → trivial body → outcome recorded (jobs/s, higher is better)",
        "",
        f"Median [min–max] of {reps} runs, interleaved. *Drain*: from the workers' start on the filled queue until the "
        "database counts every job done (worker start-up included); *end to end*: the enqueue too. Every run is "
        "counted from the database afterwards (a lost or doubled job fails it). Every PostgreSQL subject connects "
        f"over TCP on loopback without TLS (`sslmode={QUEUE_SSLMODE}`, node-postgres's default).",
        "",
        "*CPU per job*: the CPU time of the whole run (enqueue, drain, count), divided by the jobs, of the PostgreSQL "
        "server (its backends included) and of the queue's own processes (driver and workers): start-up, shutdown "
        "and the count included, so two cores divided by it are fewer jobs per second than the drain's. On two "
        "shared cores it is what limits the jobs per second, and it moves less than they do from run to run.",
        "",
        "| queue | drain (jobs/s) | end to end (jobs/s) | CPU per job, µs: server + queue | enqueue (s) | enqueue API | lost / run twice |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    best_peer = 0.0
    best_peer_whole = 0.0
    best_peer_cpu: float | None = None
    ours_figures: dict[tuple[str, int], float] = {}
    ours_whole: dict[tuple[str, int], float] = {}
    ours_cpu: dict[tuple[str, int], float | None] = {}
    for subject in chosen:
        if subject.latency:
            continue
        events = results[subject.name]
        if not events:
            why_failed = failures[subject.name][-1] if failures[subject.name] else "no data"
            lines.append(f"| {subject.name} | — | failed: {why_failed} | | | | |")
            continue
        drain = [e["jobs_per_second"] for e in events]
        whole = [e["end_to_end_jobs_per_second"] for e in events]
        enqueue = [e["enqueue_s"] for e in events]
        lost = sum(int(e["counted"].get("lost", 0)) for e in events)
        twice = sum(int(e["counted"].get("run_twice", 0)) for e in events)
        lines.append(f"| {subject.name} | {spread(drain)} | {spread(whole)} | {cpu_per_job(events)} | "
                     f"{fmt(statistics.median(enqueue))} | {events[0].get('enqueue_api', '')} | {lost} / {twice} |")
        server, own = cpu_parts(events)
        cpu = server + own if server is not None else None
        if subject.ours:
            ours_figures[(subject.store, subject.workers)] = statistics.median(drain)
            ours_whole[(subject.store, subject.workers)] = statistics.median(whole)
            ours_cpu[(subject.store, subject.workers)] = cpu
        else:
            if statistics.median(drain) > best_peer:
                best_peer = statistics.median(drain)
                best_peer_cpu = cpu
            # The figure is end to end (enqueue included), so it is compared too,
            # with the peer that is best by that measure.
            best_peer_whole = max(best_peer_whole, statistics.median(whole))
    if not node:
        lines.append("| graphile-worker 0.17.3 (not run here: no node/npm) | 14,036 (anchor) | | | | | |")
    lines.append("| Flask-TaskX 1.0 (quoted from queue-anchors.md, not run: its PyPI package ships no code) | "
                 "0.2 at its default interval; 338 at 1 ms | | | | `task.apply()` | lost jobs; doubled on PostgreSQL |")
    lines += [
        "",
        "### Job queue: enqueue → body start, one idle worker (ms, lower is better)",
        "",
        "*From the call*: from just before the enqueue call (its commit, about 2.8 ms of disk flush here, included); "
        "*from the commit*: from its return (the job committed and visible).",
        "",
        "| queue | p50 from the call | p99 from the call | p50 from the commit | p99 from the commit | samples |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    ours_latency = None
    for subject in chosen:
        if not subject.latency:
            continue
        events = results[subject.name]
        if not events:
            why_failed = failures[subject.name][-1] if failures[subject.name] else "no data"
            lines.append(f"| {subject.name} | — | failed: {why_failed} | | | |")
            continue
        call = [x for e in events for x in e["latency_from_call_ms"]]
        commit = [x for e in events for x in e["latency_from_commit_ms"]]
        lines.append(f"| {subject.name} | {fmt(statistics.median(call))} | {fmt(percentile(call, 0.99))} | "
                     f"{fmt(statistics.median(commit))} | {fmt(percentile(commit, 0.99))} | {len(call)} |")
        if subject.ours and subject.store == "postgres":
            ours_latency = (statistics.median(call), statistics.median(commit))
    lines.append("| Flask-TaskX 1.0 (quoted, interval 1 s / 1 ms) | 524 / 2.05 | 962 / 5.65 | | | |")
    goals = []
    pg4 = ours_figures.get(("postgres", 4))
    if pg4 and best_peer:
        goals.append(f"PostgreSQL, 4 workers: {pg4:,.0f} jobs/s = {pg4 / best_peer:.2f}× the best peer in this run "
                     f"({best_peer:,.0f}); goal 2× ({'met' if pg4 >= 2 * best_peer else 'not met'})")
        pg4_whole = ours_whole.get(("postgres", 4))
        if pg4_whole and best_peer_whole:
            goals.append(f"end to end (the enqueue too), {pg4_whole:,.0f} jobs/s = "
                         f"{pg4_whole / best_peer_whole:.2f}× the best peer's {best_peer_whole:,.0f} "
                         f"({'met' if pg4_whole >= 2 * best_peer_whole else 'not met'})")
        if ours_cpu.get(("postgres", 4)) and best_peer_cpu:
            goals.append(f"CPU per job, server and queue together: ours (PostgreSQL, 4 workers) "
                         f"{fmt(ours_cpu[('postgres', 4)])} µs, the best peer {fmt(best_peer_cpu)} µs")
    sq = max((v for (store, _), v in ours_figures.items() if store == "sqlite"), default=None)
    if sq:
        goals.append(f"SQLite: {sq:,.0f} jobs/s; goal 10,000 ({'met' if sq >= 10_000 else 'not met'})")
    if ours_latency:
        goals.append(f"PostgreSQL enqueue → start median: {ours_latency[0]:.2f} ms from the call, "
                     f"{ours_latency[1]:.2f} ms from the commit; goal under 2 ms "
                     f"({'met' if ours_latency[1] < 2 else 'not met'} from the commit, "
                     f"{'met' if ours_latency[0] < 2 else 'not met'} from the call)")
    if goals:
        lines += ["", "Goals (issue 24): " + "; ".join(goals) + "."]
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
