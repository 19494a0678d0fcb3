#!/usr/bin/env bash
# Baseline for benches/intake.rs: times hl7apy (Python, MIT) parsing the same generated
# VXU file and prints both rates and the ratio (target: cairdx ≥ 100× hl7apy).
# hl7apy goes into a venv under the target directory; nothing is installed system-wide.
# HL7APY_SAMPLE (default 5000) limits how many messages hl7apy parses: at its speed the
# full 100,000 would take minutes and the rate is already stable on a sample.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/hl7apy-venv"
data="$target/bench-data/intake_vxu.hl7"
sample="${HL7APY_SAMPLE:-5000}"
mkdir -p "$(dirname "$data")"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import hl7apy' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet hl7apy
fi

echo "== cairdx (cargo bench --bench intake)"
rust_out="$(cd "$root" && CAIRDX_BENCH_FILE="$data" cargo bench --quiet --bench intake)"
echo "$rust_out"
rate() { echo "$rust_out" | grep -F "$1" | awk '{for (i = 1; i <= NF; i++) if ($i == "messages/s") print $(i - 1)}'; }
rust_parse="$(rate 'parse (1 thread)')"
rust_full="$(rate 'parse+validate+ACK (1 thread)')"

echo "== hl7apy $("$venv/bin/python" -c 'from importlib.metadata import version; print(version("hl7apy"))') (parse_message, tolerant, no group finding)"
py_out="$("$venv/bin/python" - "$data" "$sample" <<'PY'
import sys, time
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

path, sample = sys.argv[1], int(sys.argv[2])
data = open(path, "rb").read().decode("utf-8")
messages = ["MSH" + m for m in data.split("MSH")[1:]][:sample]
size = sum(len(m.encode()) for m in messages)
failed = 0
start = time.perf_counter()
for m in messages:
    try:
        parse_message(m, validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=False)
    except Exception:
        failed += 1
secs = time.perf_counter() - start
print(f"parsed {len(messages)} messages ({failed} failed) in {secs:.2f} s")
print(f"rate {len(messages) / secs:.0f} messages/s {size / 1e6 / secs:.2f} MB/s")
PY
)"
echo "$py_out"
py_rate="$(echo "$py_out" | awk '/^rate/ {print $2}')"

echo "== ratio (one core each)"
awk -v p="$rust_parse" -v f="$rust_full" -v h="$py_rate" 'BEGIN {
    printf "cairdx parse              / hl7apy parse: %8.0fx\n", p / h
    printf "cairdx parse+validate+ACK / hl7apy parse: %8.0fx (target >= 100x)\n", f / h
}'
