#!/usr/bin/env bash
# plot_pixels.py on two made-up chip_stats files: a stacked bar per file
# (its per-scale pixels, or chips x 512 x 512 in a file without them), the
# single-scale and pyramid bars, the totals and ratios written as text; a
# file without either key is an error naming it.
set -euo pipefail
dir="${TEST_TMPDIR:-$(mktemp -d)}"
py="$(command -v /usr/bin/python3 || command -v python3)"
cat > "$dir/a.json" <<'JSON'
{"images": 10, "single_scale_pixels_per_image": 1000000.0,
 "pyramid_pixels_per_image": 4000000.0,
 "scales": [{"chips_per_image": 2.0, "pixels_per_image": 500000.0},
            {"chips_per_image": 1.0, "pixels_per_image": 300000.0}]}
JSON
cat > "$dir/b.json" <<'JSON'
{"images": 10, "single_scale_pixels_per_image": 1000000.0,
 "pyramid_pixels_per_image": 4000000.0,
 "scales": [{"chips_per_image": 2.0}, {"chips_per_image": 1.0}]}
JSON
"$py" tools/plot_pixels.py --json="$dir/a.json" --label=tight \
  --json="$dir/b.json" --label=fixed --out="$dir/p.svg" --title=made-up \
  --data_out="$dir/p.json"
"$py" - "$dir/p.svg" "$dir/p.json" <<'PY'
import json, sys, xml.etree.ElementTree as ET
d = json.load(open(sys.argv[2]))
names = [b["name"] for b in d["bars"]]
assert names == ["SNIPER chips: tight", "SNIPER chips: fixed",
                 "single scale 800x1333", "3-scale pyramid"], names
assert d["bars"][0]["parts"] == [500000.0, 300000.0]
assert d["bars"][1]["parts"] == [2 * 262144.0, 262144.0]  # chips x 512 x 512
assert [b["reference"] for b in d["bars"]] == [False, False, True, True]
texts = "\n".join(t.text for t in ET.parse(sys.argv[1]).getroot().iter(
    "{http://www.w3.org/2000/svg}text") if t.text)
for want in ["Pixels per image: made-up (10 images)", "0.800 M",
             "0.80x single scale", "0.786 M", "4.00x single scale",
             "single scale 800x1333", "3-scale pyramid", "scale 0", "scale 1",
             "fixed", "tight"]:
    assert want in texts, (want, texts)
print("svg ok")
PY
echo '{"images": 1, "single_scale_pixels_per_image": 1, "pyramid_pixels_per_image": 1, "scales": [{}]}' > "$dir/bad.json"
if "$py" tools/plot_pixels.py --json="$dir/bad.json" --out="$dir/bad.svg" 2> "$dir/err.txt"; then
  echo "a scale without pixels was accepted"; exit 1
fi
grep -q "bad.json: scales\[0\] has no pixels_per_image" "$dir/err.txt" || { cat "$dir/err.txt"; exit 1; }
[ ! -e "$dir/bad.svg" ] || { echo "half-written output"; exit 1; }
echo PASS
