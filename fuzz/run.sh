#!/usr/bin/env bash
# Fuzzes the condition parser and evaluation for the given number of seconds (default 300).
# The corpus is seeded with every condition string of the vector files in tests/data/.
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
for i, s in enumerate(sorted(strings)):
    (out / f"seed-{i:04}").write_text(s)
print(f"seeded {len(strings)} strings")
PY
RUSTC_BOOTSTRAP=1 cargo fuzz run parse_condition "$corpus" -- -max_total_time="$seconds" -print_final_stats=1
