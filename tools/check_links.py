#!/usr/bin/env python3
"""Every relative link and image in the user's documentation resolves, and
every table row has its header's number of cells.

Reads README.md and docs/*.md of the workspace (found from README.md's real
path, so that a Bazel test sees the source tree itself: a linked file need
not be a declared input), and checks each Markdown link or image outside
code: a relative target must exist (relative to the page), and a #anchor
must name a heading of its page (GitHub's rule: lower case, punctuation
dropped, spaces to hyphens). Web addresses are not fetched. A table row
(a line starting with "|") with more or fewer cells than its table's header
is reported too: GitHub would shift or drop its cells.

  python3 tools/check_links.py [ROOT]      # exit 1 listing every broken link
"""
import os
import re
import sys

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def slug(heading):
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def prose_lines(text):
    """(line number, line) outside fenced and indented code blocks, inline
    code spans removed."""
    fenced = False
    for number, line in enumerate(text.split("\n"), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.startswith("    ") or line.startswith("\t"):
            continue
        yield number, re.sub(r"`[^`]*`", "", line)


def anchors(path):
    with open(path, encoding="utf-8") as f:
        return {slug(line.lstrip("#")) for _, line in prose_lines(f.read())
                if re.match(r"^#{1,6} ", line)}


def pages(root):
    out = [os.path.join(root, "README.md")]
    docs = os.path.join(root, "docs")
    out += sorted(os.path.join(docs, n) for n in os.listdir(docs)
                  if n.endswith(".md"))
    return out


def cells(row):
    """The number of cells of a table row (inline code already removed)."""
    body = row.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") \
        else body
    return len(re.split(r"(?<!\\)\|", body))


def table_rows(name, lines):
    """Rows whose cell count differs from their table's header."""
    out, header, previous = [], None, 0
    for number, line in lines:
        if not line.lstrip().startswith("|"):
            header = None
            continue
        count = cells(line)
        if header is None or number != previous + 1:
            header = count
        elif count != header:
            out.append(f"{name}:{number}: table row has {count} cells, "
                       f"its header {header}")
        previous = number
    return out


def check(root):
    broken, checked = [], 0
    for page in pages(root):
        with open(page, encoding="utf-8") as f:
            text = f.read()
        broken += table_rows(os.path.relpath(page, root), prose_lines(text))
        for number, line in prose_lines(text):
            for target in LINK.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                    continue  # a web address or mailto:
                checked += 1
                path, _, anchor = target.partition("#")
                where = os.path.normpath(
                    os.path.join(os.path.dirname(page), path)) if path else page
                name = os.path.relpath(page, root)
                if not os.path.exists(where):
                    broken.append(f"{name}:{number}: {target}: no such file")
                elif anchor and where.endswith(".md") and \
                        anchor not in anchors(where):
                    broken.append(f"{name}:{number}: {target}: no heading "
                                  f"'#{anchor}' in {os.path.relpath(where, root)}")
    return checked, broken


def main():
    if len(sys.argv) > 1:
        root = sys.argv[1]
    else:
        here = os.path.dirname(os.path.realpath(__file__))
        readme = os.path.join(os.getcwd(), "README.md")
        root = (os.path.dirname(os.path.realpath(readme))
                if os.path.exists(readme) else os.path.dirname(here))
    checked, broken = check(root)
    for b in broken:
        print(b)
    print(f"check_links: {checked} links in {len(pages(root))} pages, "
          f"{len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
