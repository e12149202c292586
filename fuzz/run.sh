#!/usr/bin/env bash
# Fuzzes the condition parser and evaluation for the given number of seconds (default 300).
# The corpus is seeded with every condition string of the vector files in tests/data/ (the
# cron-field and date vectors as the conditions they become); parse_condition.dict lists
# the language's words.
# Needs cargo-fuzz (`cargo install cargo-fuzz --version 0.13.2 --locked`); it runs on the
# stable toolchain with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-300}"
corpus=corpus/parse_condition
mkdir -p "$corpus"
python3 - "$corpus" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
data = pathlib.Path("../tests/data")
strings = set()
for name in ["vectors.sample.json", "parse.sample.json"]:
    strings.update(case["cond"] for case in json.loads((data / name).read_text()))
# Named cron fields and one-off dates, as the conditions their vectors become.
for case in json.loads((data / "cron_fields.sample.json").read_text())["cases"]:
    fields = ", ".join(f"{k} = {v}" for k, v in case["fields"].items())
    strings.add(f"cron({fields})")
for case in json.loads((data / "date_tasks.sample.json").read_text())["cases"]:
    strings.add(f"once at {case['run_date']}")
    strings.add(f"once at {case['run_date']} grace 2 hours & ~task 'x' is running")
for i, s in enumerate(sorted(strings)):
    (out / f"seed-{i:04}").write_text(s)
print(f"seeded {len(strings)} strings")
PY
RUSTC_BOOTSTRAP=1 cargo fuzz run parse_condition "$corpus" -- -dict=parse_condition.dict \
    -max_total_time="$seconds" -print_final_stats=1
