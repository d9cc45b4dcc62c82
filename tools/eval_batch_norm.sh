#!/usr/bin/env bash
# Batch norm's running averages against per-batch statistics at test time,
# for every finished run of an experiment matrix (docs/EXPERIMENTS.md):
#
#   bazel build //sniper:eval
#   tools/eval_batch_norm.sh experiments/paper_miniature [SCRATCH_DIR]
#
# Each run's detector (detector/final.pt) is evaluated again with its own
# config and eval.batch_norm=PER_BATCH (inference/inference.proto) into
# SCRATCH_DIR/<variant>/seed_<s> (default: a temporary directory), never
# into the run's own directory; its eval_stats.json gives the other column.
# Prints one Markdown row per run: AP, AP small, medium and large, both ways.
# A model whose training batches each held one scale (SNIP's whole images
# batched by shape) normalised each scale apart; its running averages mix
# the scales, which per-batch statistics undo.
set -euo pipefail
matrix="${1:?usage: tools/eval_batch_norm.sh MATRIX_DIR [SCRATCH_DIR]}"
scratch="${2:-$(mktemp -d "${TMPDIR:-/tmp}/eval_batch_norm.XXXXXX")}"
root="$(cd "$(dirname "$0")/.." && pwd)"
eval_bin="${EVAL_BINARY:-$root/bazel-bin/sniper/eval}"
[[ -x "$eval_bin" ]] || { echo "no $eval_bin: bazel build //sniper:eval" >&2; exit 1; }
[[ -d "$matrix" ]] || { echo "$matrix: no such matrix directory" >&2; exit 1; }

row() {  # variant seed running.json per_batch.json
  python3 - "$@" <<'PY'
import json, sys
variant, seed, a, b = sys.argv[1:]
ra, rb = (json.load(open(p))["stats"] for p in (a, b))
cells = [f"{ra[i]:.3f} / {rb[i]:.3f}" for i in (0, 3, 4, 5)]
print(f"| {variant} | {seed} | " + " | ".join(cells) + " |")
PY
}

echo "| variant | seed | AP | APs | APm | APl |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
found=0
for cell in "$matrix"/*/seed_*; do
  [[ -f "$cell/eval_stats.json" && -f "$cell/detector/final.pt" ]] || continue
  variant="$(basename "$(dirname "$cell")")"
  seed="${cell##*seed_}"
  out="$scratch/$variant/seed_$seed"
  mkdir -p "$out"
  if ! "$eval_bin" --config="$cell/config.pbtxt" --work_dir="$out" \
      --checkpoint="$cell/detector/final.pt" --quiet \
      --set=eval.batch_norm=PER_BATCH --set=eval.draw_example=false \
      > "$out/eval.log" 2>&1; then
    echo "$cell: evaluation failed, see $out/eval.log" >&2
    exit 1
  fi
  row "$variant" "$seed" "$cell/eval_stats.json" "$out/eval_stats.json"
  found=$((found + 1))
done
[[ $found -gt 0 ]] || { echo "$matrix: no finished run" >&2; exit 1; }
echo
echo "Each cell: running averages / per-batch statistics; $found runs, scratch in $scratch"
