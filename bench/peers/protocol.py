"""What both Python subjects share: the output and the common flags of bench/PROTOCOL.md."""

import argparse
import json
import os
import sys
import threading
import time


def emit(obj):
    """Prints one event as a JSON line and flushes it at once."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def finish(obj):
    """Prints the result and ends the process at once, without a graceful shutdown."""
    emit(obj)
    os._exit(0)


def rss_kb():
    """This process's resident memory in kB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def report_after(seconds, make_result):
    """Prints make_result() `seconds` after now and ends the process, from a thread."""
    def run():
        time.sleep(seconds)
        finish(make_result())
    threading.Thread(target=run, daemon=True).start()


def argument_parser(description, extra_scenarios=()):
    """A parser with the flags every subject takes; the caller adds its variant flags (and
    `fill`, where the subject keeps its log in a store the driver fills)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--scenario", required=True,
                   choices=["idle", "throughput", "delay", "pipeline", "startup", *extra_scenarios])
    p.add_argument("--tasks", type=int, default=1)
    p.add_argument("--seconds", type=int, default=10)
    return p
