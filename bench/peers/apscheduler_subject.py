"""APScheduler 3.11 as a benchmark subject: one scenario of bench/PROTOCOL.md per run.

    apscheduler_subject.py --scenario throughput --tasks 1000 --seconds 10 \
        [--kind background|asyncio]

``--kind background``: a ``BackgroundScheduler`` (its own scheduler thread, jobs run on its
default ``ThreadPoolExecutor`` of 10 threads); the main thread only waits. Job bodies are
plain functions.

``--kind asyncio``: an ``AsyncIOScheduler`` started inside ``asyncio.run(...)``; job
bodies are ``async def``, which its default ``AsyncIOExecutor`` runs as tasks on the
event loop (plain functions would go to the loop's thread pool instead).

In-memory job store, the machine's time zone, everything else at its default except what
is said below. Jobs are named and identified ``t0``, ``t1``, ...

* idle, startup's t0..tN-1: ``CronTrigger(month=1, day=1, hour=0, minute=0)``.
* throughput: ``IntervalTrigger`` of ``N`` x 20 us per job (20 us for 1 job, 20 ms for
  1,000), so that the N jobs together are due 50,000 times a second, whatever N. APScheduler
  has no "always due" trigger; ``IntervalTrigger`` takes any positive ``timedelta`` (zero
  becomes 1 s), but each time the scheduler looks at a job it first lists *every* run time
  the job missed since its last one (``Job._get_run_times``), one trigger computation
  (~2.3 us each, measured alone) per missed run time, and only then coalesces them. So a
  job's interval has to stay well above what one pass over the N jobs takes, or that list
  grows with every pass and the rate collapses (with 1,000 jobs, 1 ms collapsed and 2 ms
  declined steadily; with one background job, whose pass includes waiting for the GIL,
  10 us collapsed). Measured on the 2-core machine (runs/s, background / asyncio):

  ==========  =====================  =======================================
  interval    1 job                  1,000 jobs
  ==========  =====================  =======================================
  10 us       ~150 / ~17,000         (collapses)
  1 ms        ~1,000 / ~870 (capped) ~800 falling to ~300 / ~1,000 falling to 0
  N x 20 us   ~3,000 / ~20,000       ~20,000-30,000 / ~40,000
  ==========  =====================  =======================================

  A fixed 1 ms would cap one job at 1,000 runs/s and make 1,000 jobs collapse; N x 20 us
  is, within a factor of 2, the shortest interval that stayed stable for 1 to 1,000 jobs
  and both kinds. Its cap (50,000 due runs/s in all) is close to, but above, what the
  asyncio kind reached here (~40,000 runs/s with 10 to 1,000 jobs, single seconds up to
  ~48,000); a trial trigger that is always due (next fire time = now + 1 us, not used
  here as it is not one of APScheduler's own) did no better with 1,000 jobs, and worse
  with 1 background job (its scheduler thread spins and starves the pool thread).
  ``coalesce=True`` so a late job runs once, not once per missed interval;
  ``max_instances=1`` (the default, stated) so a job still queued or running is skipped
  rather than piled up; ``misfire_grace_time=None`` so a run that waited in the executor
  is never dropped as "missed". The background kind keeps its default pool of 10 threads:
  the bodies only add 1 to a counter and the scheduler thread is the limit (1 or 50
  threads did no better). Skipped submissions (max instances reached) log a warning,
  which the logging level below silences.
* delay, pipeline's ``a``: ``CronTrigger(second="*")``.
* pipeline's ``b`` and ``c``: APScheduler has no dependencies between jobs; a listener on
  ``EVENT_JOB_EXECUTED`` (emitted only when a job returned without an exception) adds
  ``b`` as a one-off job to run now when ``a`` has finished, and ``c`` when ``b`` has.
* startup's ``first``: a job with no trigger (a one-off job, due now), added after the N
  cron jobs and before ``start()``, with ``misfire_grace_time=None``: jobs added before
  ``start()`` are only put in the job store by ``start()``, and with N large that can take
  longer than the default 1 s grace time, after which APScheduler would skip ``first``.

"ready" is printed just before ``scheduler.start()``: for the background kind that call
starts the scheduler thread and returns; for asyncio it is the start of scheduling inside
the running loop, after which the coroutine blocks on an event that is never set.

APScheduler's logging is set to ERROR; only the protocol's JSON lines go to stdout.
"""

import logging
import math
import threading
import time

from protocol import argument_parser, emit, finish, report_after, rss_kb


def parse_args():
    p = argument_parser(__doc__.splitlines()[0])
    p.add_argument("--kind", choices=["background", "asyncio"], default="background")
    return p.parse_args()


def body(kind, action=None):
    """A job body running `action()` (if any): plain for background, async def for asyncio."""
    if kind == "asyncio":
        if action is None:
            async def job_body():
                pass
        else:
            async def job_body():
                action()
    else:
        if action is None:
            def job_body():
                pass
        else:
            def job_body():
                action()
    return job_body


def setup(args, scheduler):
    """Adds the scenario's jobs; returns what to call just after "ready" (or None)."""
    from apscheduler.events import EVENT_JOB_EXECUTED
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    kind = args.kind

    def idle_jobs(n):
        for i in range(n):
            scheduler.add_job(body(kind),
                              CronTrigger(month=1, day=1, hour=0, minute=0),
                              id=f"t{i}", name=f"t{i}")

    scenario = args.scenario
    if scenario == "idle":
        idle_jobs(args.tasks)
        return None

    if scenario == "throughput":
        runs = [0]
        if kind == "background":
            # Bodies run on several pool threads: `+=` alone could lose counts.
            lock = threading.Lock()

            def count():
                with lock:
                    runs[0] += 1
        else:
            # All bodies run on the event loop's thread.
            def count():
                runs[0] += 1

        # See the top of the file: the jobs together are due 50,000 times a second.
        interval = max(args.tasks, 1) * 20e-6
        for i in range(args.tasks):
            scheduler.add_job(body(kind, count), IntervalTrigger(seconds=interval),
                              id=f"t{i}", name=f"t{i}",
                              coalesce=True, max_instances=1, misfire_grace_time=None)

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

        return lambda: threading.Thread(target=sample, daemon=True).start()

    if scenario == "delay":
        delays = []

        def tick():
            t = time.time()
            delays.append((t - math.floor(t)) * 1000.0)

        scheduler.add_job(body(kind, tick), CronTrigger(second="*"),
                          id="tick", name="tick")
        return lambda: report_after(
            args.seconds, lambda: {"event": "result", "delays_ms": list(delays[1:])})

    if scenario == "pipeline":
        a_end = [0.0]
        handoffs = []

        def a():
            a_end[0] = time.time()

        def c():
            t = time.time()
            handoffs.append((t - a_end[0]) * 1000.0)

        next_job = {"a": ("b", body(kind)), "b": ("c", body(kind, c))}

        def on_executed(event):
            if event.exception is None and event.job_id in next_job:
                name, func = next_job[event.job_id]
                # No trigger: a one-off job due now.
                scheduler.add_job(func, id=name, name=name, replace_existing=True,
                                  misfire_grace_time=None)

        scheduler.add_listener(on_executed, EVENT_JOB_EXECUTED)
        scheduler.add_job(body(kind, a), CronTrigger(second="*"), id="a", name="a")
        return lambda: report_after(
            args.seconds, lambda: {"event": "result", "handoffs_ms": list(handoffs[1:])})

    if scenario == "startup":
        idle_jobs(args.tasks)

        def first():
            finish({"event": "result", "first_run_wall": time.time()})

        # No trigger: a one-off job due now.
        scheduler.add_job(body(kind, first), id="first", name="first",
                          misfire_grace_time=None)
        return None

    raise ValueError(f"unknown scenario {scenario}")


def main():
    args = parse_args()
    logging.getLogger("apscheduler").setLevel(logging.ERROR)

    if args.kind == "background":
        from apscheduler.schedulers.background import BackgroundScheduler

        scheduler = BackgroundScheduler()
        after_ready = setup(args, scheduler)
        emit({"event": "ready", "wall": time.time()})
        if after_ready is not None:
            after_ready()
        scheduler.start()
        threading.Event().wait()
    else:
        import asyncio
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        async def run():
            scheduler = AsyncIOScheduler()
            after_ready = setup(args, scheduler)
            emit({"event": "ready", "wall": time.time()})
            if after_ready is not None:
                after_ready()
            scheduler.start()
            await asyncio.Event().wait()

        asyncio.run(run())


if __name__ == "__main__":
    main()
