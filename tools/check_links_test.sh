#!/usr/bin/env bash
# The documentation's links resolve and its tables' rows are whole
# (tools/check_links.py on the source tree behind README.md), and the
# checker fails on a made-up tree with a missing file, a missing heading, a
# missing image and a table row with a cell too many (links and pipes in
# code are ignored).
set -euo pipefail
checker="tools/check_links.py"
root="$(dirname "$(readlink -f README.md)")"
python3 "$checker" "$root"

tmp="$(mktemp -d "${TEST_TMPDIR:-/tmp}/links.XXXXXX")"
mkdir -p "$tmp/docs"
cat > "$tmp/README.md" <<'MD'
# Title
[fine](docs/A.md#a-heading) [self](#title) ![picture](docs/missing.png)
[gone](docs/GONE.md) [bad anchor](docs/A.md#nowhere)
`[in code](nothing.md)`

    [indented code](nothing.md)

| a | b |
| --- | --- |
| `x|y` | fine |
| 1 | 2 | 3 |
MD
printf '# A\n\n## A heading\n\n[back](../README.md#title)\n' > "$tmp/docs/A.md"
if out="$(python3 "$checker" "$tmp")"; then
  echo "check_links passed a broken tree: $out"; exit 1
fi
echo "$out"
grep -q "README.md:2: docs/missing.png: no such file" <<< "$out"
grep -q "README.md:3: docs/GONE.md: no such file" <<< "$out"
grep -q "README.md:3: docs/A.md#nowhere: no heading '#nowhere'" <<< "$out"
grep -q "README.md:11: table row has 3 cells, its header 2" <<< "$out"
grep -q "6 links in 2 pages, 4 broken" <<< "$out"
echo PASS
