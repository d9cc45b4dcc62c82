#!/usr/bin/env bash
# The recorded CPU loss curve (tools/gpu/cpu_reference_metrics.csv) belongs
# to the current default config: check.sh compares a GPU run's loss with it,
# so a curve of another default would fail a healthy GPU or pass a broken
# one. After changing configs/default_synthetic.pbtxt, run
# tools/gpu/record_cpu_reference.sh.
set -euo pipefail
root="${TEST_SRCDIR:+$TEST_SRCDIR/$TEST_WORKSPACE}"
root="${root:-$(cd "$(dirname "$0")/../.." && pwd)}"
want="$(cat "$root/tools/gpu/cpu_reference_config.sha256")"
have="$(sha256sum "$root/configs/default_synthetic.pbtxt" | cut -d' ' -f1)"
if [ "$want" != "$have" ]; then
  echo "tools/gpu/cpu_reference_metrics.csv was recorded with another" \
       "configs/default_synthetic.pbtxt (sha256 $want, now $have):" \
       "run tools/gpu/record_cpu_reference.sh" >&2
  exit 1
fi
csv="$root/tools/gpu/cpu_reference_metrics.csv"
head -1 "$csv" | grep -q '^stage,step,epoch,lr,loss,' || {
  echo "$csv: unexpected header: $(head -1 "$csv")" >&2; exit 1; }
last_step="$(tail -1 "$csv" | cut -d, -f2)"
if [ "$last_step" != 300 ]; then
  echo "$csv: ends at step $last_step, check.sh compares 300 steps" >&2
  exit 1
fi
echo PASS
