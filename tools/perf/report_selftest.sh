#!/usr/bin/env bash
# report.py on a made-up history: one panel per key metric, one point per
# commit of the chosen machine (another machine's line left out), a line
# per series where both SNIPER and the baseline were recorded; a bad line
# is an error naming the file and line.
set -euo pipefail
dir="${TEST_TMPDIR:-$(mktemp -d)}"
python3 - "$dir/history.jsonl" <<'PY'
import json, sys
m = {"cpu": "Test CPU", "cores": 2}
def line(commit, date, machine, ips, ms):
    return {"commit": commit, "date": date, "subject": "s", "machine": machine,
            "peak_rss_mib": {},
            "benchmarks": {
                "benchmarks/train_step_benchmark:BM_TrainStep/sniper/iterations:%d/real_time" % (60 if commit < "c" else 15):
                    {"time_ns": 3e8, "counters": {"images_per_s": ips, "pixels_per_image": 322437.12, "peak_rss_mib": 600}},
                "benchmarks/train_step_benchmark:BM_TrainStep/single_scale/iterations:15/real_time":
                    {"time_ns": 3e8, "counters": {"images_per_s": 5.0, "pixels_per_image": 547225.6, "peak_rss_mib": 800}},
                "ops/box_ops_benchmark:BM_Nms/boxes:6000": {"time_ns": ms * 1e6, "counters": {"kept": 1036}}}}
with open(sys.argv[1], "w") as f:
    for e in [line("aaaaaaa1", "2026-12-01T01:00:00+00:00", m, 6.0, 5.0),
              line("bbbbbbb2", "2026-12-01T02:00:00+00:00", {"cpu": "Other", "cores": 16}, 60.0, 0.5),
              line("ccccccc3", "2026-12-01T03:00:00+00:00", m, 6.5, 5.5),
              line("ddddddd4", "2026-12-01T04:00:00+00:00", m, 7.0, 4.0)]:
        f.write(json.dumps(e) + "\n")
PY
# Debian's python3 has python3-matplotlib (tools/install_deps.sh).
py="$(command -v /usr/bin/python3 || command -v python3)"
"$py" tools/perf/report.py --history="$dir/history.jsonl" --out="$dir/trend.svg" \
  --data_out="$dir/trend.json"
"$py" - "$dir/trend.svg" "$dir/trend.json" <<'PY'
import json, sys, xml.etree.ElementTree as ET
data = json.load(open(sys.argv[2]))
# The chosen machine's three commits, oldest first; the other machine's out.
assert [c[:7] for c in data["commits"]] == ["aaaaaaa", "ccccccc", "ddddddd"], data["commits"]
panels = {p["title"]: p for p in data["panels"]}
assert len(panels) == 9, list(panels)
train = panels["Training images/s"]["series"]
assert [s["label"] for s in train] == ["SNIPER", "single scale"]
# SNIPER's series spans the step-count change (iterations:60 -> 15).
assert train[0]["values"] == [6.0, 6.5, 7.0], train[0]
assert train[1]["baseline"] and not train[0]["baseline"]
nms = panels["NMS, 6000 boxes"]["series"]
assert nms[0]["values"] == [5.0, 5.5, 4.0], nms[0]
assert nms[1]["values"] == [None, None, None]  # torchvision not recorded
assert all(v is None for s in panels["COCO evaluation, 5k images"]["series"]
           for v in s["values"])
# The picture holds what it must show, as text: titles, units, legend
# labels, commit ticks, "not recorded" where nothing was.
texts = [t.text for t in ET.parse(sys.argv[1]).getroot().iter(
    "{http://www.w3.org/2000/svg}text") if t.text]
joined = "\n".join(texts)
for want in ["Training images/s", "NMS, 6000 boxes", "images/s", "SNIPER",
             "single scale", "ours", "aaaaaaa", "ddddddd", "not recorded",
             "Test CPU, 2 cores"]:
    assert want in joined, (want, texts)
assert "bbbbbbb" not in joined, "another machine's line was drawn"
assert "torchvision" not in texts, "a series without values got a legend entry"
print("svg ok")
PY
echo '{"commit": "x"}' >> "$dir/history.jsonl"
if "$py" tools/perf/report.py --history="$dir/history.jsonl" --out="$dir/bad.svg" 2> "$dir/err.txt"; then
  echo "a line without 'machine' was accepted"; exit 1
fi
grep -q "history.jsonl:5: no 'machine'" "$dir/err.txt" || { cat "$dir/err.txt"; exit 1; }
[ ! -e "$dir/bad.svg" ] || { echo "half-written output"; exit 1; }
echo PASS
