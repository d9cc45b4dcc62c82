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
python3 tools/perf/report.py --history="$dir/history.jsonl" --out="$dir/trend.svg"
python3 - "$dir/trend.svg" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(sys.argv[1]).getroot()
panels = root.findall("s:g", ns)
assert len(panels) == 9, len(panels)
texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
assert "bbbbbbb" not in texts, "another machine's line was drawn"
assert texts.count("aaaaaaa") == 4 and texts.count("ddddddd") == 4, texts  # panels with data
def panel(title):
    for g in panels:
        if g.find("s:text", ns).text == title:
            return g
    raise AssertionError(title)
train = panel("Training images/s")
lines = train.findall("s:polyline", ns)
assert len(lines) == 2, "SNIPER and single scale"
# SNIPER's series spans the step-count change (iterations:60 -> 15).
assert len(lines[0].get("points").split()) == 3, lines[0].get("points")
nms = panel("NMS, 6000 boxes")
assert len(nms.findall("s:polyline", ns)) == 1  # torchvision not recorded
ys = [float(p.split(",")[1]) for p in nms.find("s:polyline", ns).get("points").split()]
assert ys[2] > ys[0] > ys[1], ys  # 4.0 ms is drawn lowest (SVG y grows down)
assert "not recorded" in [t.text for t in panel("COCO evaluation, 5k images").iter("{http://www.w3.org/2000/svg}text")]
print("svg ok")
PY
echo '{"commit": "x"}' >> "$dir/history.jsonl"
if python3 tools/perf/report.py --history="$dir/history.jsonl" --out="$dir/bad.svg" 2> "$dir/err.txt"; then
  echo "a line without 'machine' was accepted"; exit 1
fi
grep -q "history.jsonl:5: no 'machine'" "$dir/err.txt" || { cat "$dir/err.txt"; exit 1; }
[ ! -e "$dir/bad.svg" ] || { echo "half-written output"; exit 1; }
echo PASS
