#!/usr/bin/env bash
# tools/eval_batch_norm.sh on a made-up matrix with a stand-in evaluator:
# every finished run is evaluated with eval.batch_norm=PER_BATCH from its
# own config and checkpoint into the scratch directory (never into the
# run's), unfinished runs are skipped, the rows pair the run's numbers with
# the new ones, and a failing evaluation stops it naming the run.
set -euo pipefail
script="tools/eval_batch_norm.sh"
tmp="$(mktemp -d "${TEST_TMPDIR:-/tmp}/ebn.XXXXXX")"
m="$tmp/matrix"
stats() {  # AP APs APm APl -> eval_stats.json's 12 numbers
  echo "{\"stats\": [$1, 0.9, 0.8, $2, $3, $4, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}"
}
for run in a/seed_0 b/seed_2; do
  mkdir -p "$m/$run/detector"
  : > "$m/$run/detector/final.pt"
  echo "name: \"$run\"" > "$m/$run/config.pbtxt"
done
stats 0.5 0.25 0.5 0.75 > "$m/a/seed_0/eval_stats.json"
stats 0.125 0.0 0.5 1.0 > "$m/b/seed_2/eval_stats.json"
mkdir -p "$m/b/seed_3"  # unfinished: skipped

fake="$tmp/fake_eval.sh"
cat > "$fake" <<'SH'
#!/usr/bin/env bash
set -euo pipefail
for a in "$@"; do
  case "$a" in
    --work_dir=*) out="${a#--work_dir=}" ;;
    --config=*) config="${a#--config=}" ;;
    --checkpoint=*) ckpt="${a#--checkpoint=}" ;;
  esac
done
[[ " $* " == *" --set=eval.batch_norm=PER_BATCH "* ]] || exit 3
[[ "$ckpt" == "$(dirname "$config")/detector/final.pt" ]] || exit 4
[[ "$(cat "$config")" != *'"b/seed_2"'* || -z "${FAIL_B:-}" ]] || { echo boom; exit 5; }
echo '{"stats": [0.25, 0.9, 0.8, 0.125, 0.375, 0.625, 0, 0, 0, 0, 0, 0]}' > "$out/eval_stats.json"
SH
chmod +x "$fake"

before="$(cat "$m"/*/seed_*/eval_stats.json | md5sum)"
out="$(EVAL_BINARY="$fake" bash "$script" "$m" "$tmp/scratch")"
echo "$out"
grep -qF "| a | 0 | 0.500 / 0.250 | 0.250 / 0.125 | 0.500 / 0.375 | 0.750 / 0.625 |" <<< "$out"
grep -qF "| b | 2 | 0.125 / 0.250 | 0.000 / 0.125 | 0.500 / 0.375 | 1.000 / 0.625 |" <<< "$out"
grep -qF "2 runs, scratch in $tmp/scratch" <<< "$out"
[[ -f "$tmp/scratch/a/seed_0/eval_stats.json" ]]
[[ ! -e "$tmp/scratch/b/seed_3" ]]
[[ "$(cat "$m"/*/seed_*/eval_stats.json | md5sum)" == "$before" ]]

if err="$(FAIL_B=1 EVAL_BINARY="$fake" bash "$script" "$m" "$tmp/s2" 2>&1)"; then
  echo "a failing evaluation passed"; exit 1
fi
grep -qF "$m/b/seed_2: evaluation failed, see $tmp/s2/b/seed_2/eval.log" <<< "$err"
if err="$(EVAL_BINARY="$fake" bash "$script" "$tmp/scratch/none" 2>&1)"; then
  echo "a missing matrix passed"; exit 1
fi
grep -qF "no such matrix directory" <<< "$err"
echo PASS
