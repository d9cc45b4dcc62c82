#!/usr/bin/env python3
"""Prints the closing line of a test run: "N passed, N failed".

Counts test cases from the JUnit XML that each test target leaves in
bazel-testlogs (only targets named in this run's Bazel summary, so stale logs
never count). Skipped cases (e.g. GPU tests without a GPU) are reported
apart and are neither passed nor failed. A target that failed to build, timed
out or crashed without XML counts as one failure. Exit status: 0 only when
nothing failed and Bazel succeeded.
"""
import argparse
import os
import re
import sys
import xml.etree.ElementTree as ET

STATUS_RE = re.compile(
    r"^(//\S+)\s+(?:\(cached\)\s+)?(PASSED|FAILED|TIMEOUT|FLAKY|NO STATUS|FAILED TO BUILD|INCOMPLETE|SKIPPED)\b")


def count_xml(path):
    passed = failed = skipped = 0
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif (case.get("result") == "skipped" or case.get("status") == "notrun"
              or case.find("skipped") is not None):
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bazel_log", required=True)
    ap.add_argument("--testlogs", required=True)
    ap.add_argument("--bazel_rc", type=int, default=0)
    ap.add_argument("--extra", action="append", default=[],
                    help="NAME=EXIT_STATUS of a check run outside Bazel "
                         "(e.g. the perf A/B); counts as one test case")
    args = ap.parse_args()

    targets = {}
    with open(args.bazel_log, errors="replace") as f:
        for line in f:
            m = STATUS_RE.match(line.strip())
            if m:
                targets[m.group(1)] = m.group(2)

    passed = failed = skipped = 0
    failing = []
    for target, status in sorted(targets.items()):
        rel = target[2:].replace(":", "/")
        xml = os.path.join(args.testlogs, rel, "test.xml")
        p = f = s = 0
        if status in ("PASSED", "FLAKY", "FAILED") and os.path.exists(xml):
            try:
                p, f, s = count_xml(xml)
            except ET.ParseError:
                p, f, s = 0, 1, 0
        if status not in ("PASSED", "FLAKY") and f == 0:
            f = 1  # failed to build, timed out, crashed before writing XML
        if status in ("PASSED", "FLAKY") and p + f + s == 0:
            p = 1  # a test target that is not a gtest binary (sh_test)
        passed += p
        failed += f
        skipped += s
        if f:
            failing.append(f"{target} ({status})")

    for extra in args.extra:
        name, _, rc = extra.rpartition("=")
        if rc.strip() == "0":
            passed += 1
        else:
            failed += 1
            failing.append(f"{name} (exit status {rc})")

    if args.bazel_rc != 0 and failed == 0:
        failed = 1
        failing.append(f"bazel exited with {args.bazel_rc} (build error?)")
    print(f"test targets: {len(targets)}; skipped test cases: {skipped}")
    for t in failing:
        print(f"FAILED: {t}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
