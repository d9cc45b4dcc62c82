#!/usr/bin/env bash
# Behaviour unchanged by a refactoring: a shortened default run (every
# stage: RPN, proposals, detector with the focus branch, eval), before and
# after, compared bit for bit.
#
#   bash tools/same_run.sh run DIR [ARGS]  # trains into DIR (~30 s here);
#                                           # ARGS to the trainer, e.g.
#                                           # --config=configs/synthetic_mask.pbtxt
#   bash tools/same_run.sh compare A B    # exit 0 when A and B are the same
#
# `compare` checks the final weights of both training stages exactly
# (//tools:compare_checkpoints --tolerance=0: the files themselves may differ
# in metadata), the proposals file and the detections byte for byte, the
# eval stats (timing aside), and every loss column the two metrics.csv files share, cell by
# cell (a column added by the change is reported, not failed). Uses the
# binaries in bazel-bin; build //sniper:train and //tools:compare_checkpoints
# first.
set -euo pipefail
cd "$(dirname "$0")/.."

shortened=(
  --set dataset.synthetic.train_images=48
  --set dataset.synthetic.val_images=12
  --set dataset.synthetic.cache_dir=/tmp/sniper_same_run_data
  --set schedule.max_steps=40
  --set negatives.rpn_schedule.max_steps=20
  --set output.checkpoint_every_steps=20
  --set output.log_every_steps=5
  --set threads=2
)

case "${1:-}" in
  run)
    [[ $# -ge 2 ]] || { echo "usage: same_run.sh run DIR [ARGS]" >&2; exit 2; }
    dir=$2
    shift 2
    bazel-bin/sniper/train --quiet --overwrite --work_dir="$dir" \
      "${shortened[@]}" "$@"
    ;;
  compare)
    [[ $# -eq 3 ]] || { echo "usage: same_run.sh compare A B" >&2; exit 2; }
    a=$2 b=$3 bad=0
    for stage in rpn detector; do
      if bazel-bin/tools/compare_checkpoints --tolerance=0 \
          "$a/$stage/final.pt" "$b/$stage/final.pt" > /tmp/same_run_cmp.txt; then
        echo "same: $stage/final.pt weights"
      else
        echo "DIFFERENT: $stage/final.pt weights: $(tail -1 /tmp/same_run_cmp.txt)"
        bad=1
      fi
    done
    for f in proposals.bin detections_val.json; do
      if cmp -s "$a/$f" "$b/$f"; then echo "same: $f"
      else echo "DIFFERENT: $f"; bad=1; fi
    done
    python3 - "$a/eval_stats.json" "$b/eval_stats.json" <<'EOF' || bad=1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for d in (a, b):
    d.pop("images_per_s", None)  # timing
print("same: eval_stats.json (timing aside)" if a == b else
      "DIFFERENT: eval_stats.json")
sys.exit(a != b)
EOF
    python3 - "$a/metrics.csv" "$b/metrics.csv" <<'EOF' || bad=1
import csv, sys
def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
a, b = read(sys.argv[1]), read(sys.argv[2])
timing = {"chips_per_s", "images_per_s"}
ca, cb = set(a[0]) - timing, set(b[0]) - timing
for only, side in ((ca - cb, "A"), (cb - ca, "B")):
    if only:
        print(f"note: metrics.csv columns only in {side}: {sorted(only)}")
if len(a) != len(b):
    print(f"DIFFERENT: metrics.csv has {len(a)} vs {len(b)} rows"); sys.exit(1)
diff = [(i, c) for i, (ra, rb) in enumerate(zip(a, b)) for c in sorted(ca & cb)
        if ra[c] != rb[c]]
if diff:
    i, c = diff[0]
    print(f"DIFFERENT: metrics.csv, {len(diff)} cells, first row {i + 2} "
          f"column {c}: {a[i][c]} vs {b[i][c]}"); sys.exit(1)
print(f"same: metrics.csv ({len(a)} rows, {len(ca & cb)} columns)")
EOF
    exit $bad
    ;;
  *)
    sed -n '2,17p' "$0" >&2
    exit 2
    ;;
esac
