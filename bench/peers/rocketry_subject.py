"""Rocketry 2.5.1 as a benchmark subject: one scenario of bench/PROTOCOL.md per run.

    rocketry_subject.py --scenario throughput --tasks 1000 --seconds 10 \
        [--cycle default|none] [--execution main|async] [--database PATH]
    rocketry_subject.py --scenario fill --tasks 100 --records 1000000 --database PATH

Rocketry is set up as its docs set it up: ``Rocketry(...)`` with its default in-memory
log repo, or with ``--database`` the persistent repository its docs show for keeping the
log ("Logging to SQL"): redbird's ``SQLRepo`` on a SQLite file through SQLAlchemy, with
``MinimalRecord`` records keyed by ``created``, the table created if missing. Tasks are
created in code (``app.session.create_task``) with Rocketry's own
conditions (``rocketry.conds``):

* idle, startup's t0..tN-1: ``cron("0 0 1 1 *")``
* throughput: ``true``
* delay, pipeline's ``a``: ``secondly``
* pipeline's ``b`` and ``c``: ``after_success("a")``, ``after_success("b")``
* startup's ``first``: ``true``

``--cycle default`` leaves ``config.cycle_sleep`` at Rocketry's default (0.1 s);
``--cycle none`` sets ``cycle_sleep=None`` (the scheduler only yields with
``asyncio.sleep(0)`` between cycles, so it spins). ``--execution`` sets every task's
``execution``. With ``main`` the bodies are plain functions, which Rocketry awaits inside
the cycle; with ``async`` the bodies are ``async def`` and Rocketry starts each run as an
asyncio task that proceeds when the scheduler's cycle yields (Rocketry would also accept
a plain function there, but then ``async`` would only add overhead to ``main``).

Things to know when reading the figures:

* Rocketry keeps its tasks in a set (``Session.tasks``) and runs a cycle over them sorted
  by priority only; all tasks here have the default priority, so the order of ``a``,
  ``b``, ``c`` inside one cycle follows the set's order (object addresses), which is not
  fixed between runs. With ``--execution main`` a pipeline round can therefore take
  0, 1 or 2 extra cycles; that is Rocketry's behaviour with default settings and is left
  as is.
* Every run adds log records to the in-memory repo, which is never trimmed, so memory
  grows with the number of runs (Rocketry's default; ~6 kB per run measured here).
* Adding a task checks its name against every task already there (``Session.__contains__``
  looks tasks up by name in a loop), so setting up N tasks costs O(N^2): ~0.5 s to "ready"
  for 1,000 tasks, 20-45 s for 10,000 on the 2-core test machine.

* With ``--database``, every log record is one SQLAlchemy session ``add`` and ``commit``
  (redbird's ``autocommit``) on a SQLite file in its default rollback-journal mode, and
  conditions such as ``cron`` query the log table, which has no index but its primary key
  ``created``. redbird 0.7.1 expects ``sqlalchemy.orm`` to be imported already (it uses
  ``sqlalchemy.orm.sessionmaker`` without importing it) and SQLAlchemy 1.4, so the
  subject imports ``sqlalchemy.orm`` first.
* ``fill`` (the set-up of the restart scenario) creates the table as above and writes
  ``--records`` records of past runs of ``t0``..``tN-1`` (``run`` and ``success``, one run
  a millisecond up to a minute ago) straight into it with Python's ``sqlite3``, one
  transaction for all: the state a long-running Rocketry program leaves behind, without
  waiting for Rocketry to write it a row at a time.

Only the protocol's JSON lines go to stdout; Rocketry's own logging is left to Python's
defaults (warnings and errors to stderr).
"""

import math
import sys
import threading
import time

from protocol import argument_parser, emit, finish, report_after, rss_kb


def parse_args():
    p = argument_parser(__doc__.splitlines()[0], extra_scenarios=["fill"])
    p.add_argument("--cycle", choices=["default", "none"], default="default")
    p.add_argument("--execution", choices=["main", "async"], default="async")
    p.add_argument("--database", help="a SQLite file for the log (redbird's SQLRepo)")
    p.add_argument("--records", type=int, default=0, help="records that fill writes")
    return p.parse_args()


def sql_repo(path):
    """The persistent log repository of Rocketry's docs, on the SQLite file `path`."""
    import sqlalchemy.orm  # noqa: F401  (redbird uses it without importing it)
    from redbird.repos import SQLRepo
    from rocketry.log import MinimalRecord
    from sqlalchemy import create_engine

    return SQLRepo(engine=create_engine(f"sqlite:///{path}"), table="tasks",
                   if_missing="create", model=MinimalRecord, id_field="created")


def fill(args):
    """Writes `args.records` records of past runs into the log table of `args.database`."""
    import sqlite3

    sql_repo(args.database)  # creates the table as Rocketry would
    tasks = [f"t{i}" for i in range(max(args.tasks, 1))]
    runs = (args.records + 1) // 2
    last = time.time() - 60.0
    rows = []
    for run in range(runs):
        start = last - (runs - run) * 0.001
        task = tasks[run % len(tasks)]
        rows.append((task, "run", start))
        rows.append((task, "success", start + 0.0002))
    rows = rows[:args.records]
    with sqlite3.connect(args.database) as db:
        db.executemany("INSERT INTO tasks (task_name, action, created) VALUES (?, ?, ?)", rows)
    finish({"event": "result", "records": len(rows)})


def body(execution, action=None):
    """A task body running `action()` (if any): plain for main, async def for async."""
    if execution == "async":
        if action is None:
            async def task_body():
                pass
        else:
            async def task_body():
                action()
    else:
        if action is None:
            def task_body():
                pass
        else:
            def task_body():
                action()
    return task_body


def main():
    args = parse_args()
    if args.scenario == "fill":
        fill(args)

    # Imported after the arguments are read, as a user's program would import it at the
    # top; the import time is part of what the startup scenario measures either way.
    from rocketry import Rocketry
    from rocketry.conds import after_success, cron, secondly, true

    config = {"cycle_sleep": None} if args.cycle == "none" else {}
    if args.database:
        app = Rocketry(config=config, logger_repo=sql_repo(args.database))
    else:
        app = Rocketry(config=config)
    session = app.session
    execution = args.execution

    def add(name, cond, action=None):
        session.create_task(func=body(execution, action), name=name,
                            start_cond=cond, execution=execution)

    def idle_tasks(n):
        never_now = cron("0 0 1 1 *")
        for i in range(n):
            add(f"t{i}", never_now)

    scenario = args.scenario
    after_ready = None  # called with nothing just after "ready" is printed

    if scenario == "idle":
        idle_tasks(args.tasks)

    elif scenario == "throughput":
        runs = [0]

        def count():
            runs[0] += 1

        for i in range(args.tasks):
            add(f"t{i}", true, count)

        def sample():
            time.sleep(1.0)
            rss_start = rss_kb()
            first = last = runs[0]
            per_second = []
            for _ in range(args.seconds):
                time.sleep(1.0)
                now = runs[0]
                per_second.append(now - last)
                last = now
            finish({"event": "result", "runs_per_second": per_second,
                    "runs": last - first, "rss_kb_start": rss_start,
                    "rss_kb_end": rss_kb()})

        def after_ready():
            threading.Thread(target=sample, daemon=True).start()

    elif scenario == "delay":
        delays = []

        def tick():
            t = time.time()
            delays.append((t - math.floor(t)) * 1000.0)

        add("tick", secondly, tick)

        def after_ready():
            report_after(args.seconds,
                         lambda: {"event": "result", "delays_ms": list(delays[1:])})

    elif scenario == "pipeline":
        a_end = [0.0]
        handoffs = []

        def a():
            a_end[0] = time.time()

        def c():
            t = time.time()
            handoffs.append((t - a_end[0]) * 1000.0)

        add("a", secondly, a)
        add("b", after_success("a"))
        add("c", after_success("b"), c)

        def after_ready():
            report_after(args.seconds,
                         lambda: {"event": "result", "handoffs_ms": list(handoffs[1:])})

    elif scenario == "startup":
        idle_tasks(args.tasks)

        def first():
            finish({"event": "result", "first_run_wall": time.time()})

        add("first", true, first)

    emit({"event": "ready", "wall": time.time()})
    if after_ready is not None:
        after_ready()
    app.run()
    # app.run() only returns if the scheduler shuts down, which none of the scenarios asks
    # for; say so rather than exit silently.
    print("rocketry_subject: the scheduler stopped", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
