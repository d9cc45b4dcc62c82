"""Shared pieces of the performance tools (gate, A/B, history).

The gate's configuration is benchmarks/perf_baseline.json:
  binaries     benchmark binaries, relative to a bin root (bazel-bin)
  filters      {binary: --benchmark_filter regex}, to keep the gate quick
  repetitions  {binary: n} for one run of the HEAD-only gate
  env          {binary: {VAR: value}}, e.g. fewer training steps
  exact        {binary: {benchmark: {counter: value}}}: counts that must match
  ratios       in-run rules, see check_ratios()
  ab           A/B settings (tools/perf/ab.py): rounds, repetitions per
               round, max_slowdown, alpha, per-benchmark overrides

Standard library only: the A/B statistic is compare.py's (Debian's
libbenchmark-tools), run in its own process.
"""
import json
import os
import platform
import statistics
import subprocess
import tempfile

# Keys of a Google Benchmark JSON entry that are not user counters.
_NOT_COUNTERS = {
    "name", "run_name", "run_type", "repetitions", "repetition_index",
    "threads", "iterations", "real_time", "cpu_time", "time_unit",
    "family_index", "per_family_instance_index", "aggregate_name", "aggregate_unit", "label",
    "error_occurred", "error_message"}
_UNIT_NS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}


def load_config(path):
    with open(path) as f:
        return json.load(f)


def binary_env(config, binary):
    env = dict(os.environ)
    env.update(config.get("env", {}).get(binary, {}))
    return env


def run_binary(path, repetitions, min_time=0.05, benchmark_filter=None,
               env=None, cwd=None):
    """Runs one benchmark binary; returns (report JSON, peak RSS in MiB).

    The peak RSS is the whole process's (wait4's ru_maxrss), so it covers
    every benchmark the filter selects. A binary whose filter matches nothing
    returns an empty report.
    """
    cmd = [path, "--benchmark_format=json",
           f"--benchmark_repetitions={repetitions}",
           f"--benchmark_min_time={min_time}",
           "--benchmark_enable_random_interleaving=true"]
    if benchmark_filter:
        cmd.append(f"--benchmark_filter={benchmark_filter}")
    with tempfile.TemporaryFile("w+") as out, \
            tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env,
                                cwd=cwd)
        _, status, rusage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:"
                           f"\n{stderr[-2000:]}")
    report = json.loads(stdout) if stdout.strip() else {"benchmarks": []}
    return report, rusage.ru_maxrss / 1024


def run_in_tree(tree, binary, config, repetitions):
    """Runs `binary` as built in tree/bazel-bin with the config's filter and
    environment, from the tree's root (binaries read configs relative to
    their workspace): (report, peak RSS MiB)."""
    tree = os.path.abspath(tree)
    return run_binary(os.path.join(tree, "bazel-bin", binary), repetitions,
                      0.05, config.get("filters", {}).get(binary),
                      binary_env(config, binary), cwd=tree)


def bazel_targets(config, only=()):
    """The config's binaries as Bazel labels (those in `only`, if given)."""
    return [f"//{os.path.dirname(b)}:{os.path.basename(b)}"
            for b in config["binaries"] if not only or b in only]


def iterations_only(report):
    """The report's per-repetition entries (aggregates dropped)."""
    return [b for b in report.get("benchmarks", [])
            if b.get("run_type") != "aggregate"]


def merge_reports(reports):
    """One report holding every repetition of several runs (for compare.py)."""
    merged = {"context": reports[0].get("context", {}) if reports else {},
              "benchmarks": []}
    for r in reports:
        merged["benchmarks"].extend(iterations_only(r))
    return merged


def summarize(report):
    """name -> {"times": [ns...], "time": min, "median": median,
    "counters": {k: [values...]}, "skipped": message or None}.

    The name is Google Benchmark's run_name (e.g. "BM_Nms/boxes:1000").
    """
    result = {}
    for b in iterations_only(report):
        name = b.get("run_name", b["name"])
        entry = result.setdefault(name, {"times": [], "counters": {},
                                         "skipped": None})
        if b.get("error_occurred"):
            entry["skipped"] = b.get("error_message", "error")
            continue
        entry["times"].append(b["real_time"] * _UNIT_NS[b.get("time_unit",
                                                               "ns")])
        for k, v in b.items():
            if k not in _NOT_COUNTERS and isinstance(v, (int, float)):
                entry["counters"].setdefault(k, []).append(v)
    for entry in result.values():
        entry["time"] = min(entry["times"]) if entry["times"] else None
        entry["median"] = (statistics.median(entry["times"])
                           if entry["times"] else None)
    return result


def counts_equal(a, b):
    """Whether two exact counters agree. Counts that pass through a floating
    division (pixels per image = pixels / (chips / chips per image)) may
    differ in the last bits when the arithmetic is reordered, so a relative
    difference below 1e-12 is equal; any real change in a count is far
    larger."""
    if a == b:
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    return False


def check_exact(config, results, update=False):
    """Exact counters: (failures, skipped, oks). `update` rewrites them."""
    failures, skipped, oks = [], [], []
    for binary, per_bench in config.get("exact", {}).items():
        got_bin = results.get(binary, {})
        for bench, counters in per_bench.items():
            got = got_bin.get(bench)
            if got is None:
                failures.append(f"{binary}:{bench}: missing from this run")
                continue
            if got["skipped"]:
                skipped.append(f"{binary}:{bench}: {got['skipped']}")
                continue
            for key, want in counters.items():
                values = got["counters"].get(key, [None])
                have = values[0]
                if any(not counts_equal(v, have) for v in values):
                    failures.append(f"{binary}:{bench}: counter {key} differs "
                                    f"between repetitions: {values} (exact)")
                elif update:
                    counters[key] = have
                elif not counts_equal(have, want):
                    failures.append(f"{binary}:{bench}: counter {key} = "
                                    f"{have}, baseline {want} (exact)")
                else:
                    oks.append(f"exact {bench}.{key} = {have}")
    return failures, skipped, oks


def _rule_value(entry, metric):
    """A benchmark's value for a ratio rule: its minimum time, or the median
    of a counter."""
    if metric in (None, "time"):
        return entry["time"]
    values = entry["counters"].get(metric)
    return statistics.median(values) if values else None


def check_ratios(config, results, update=False):
    """In-run ratio rules: (failures, skipped, oks).

    A rule compares two benchmarks of one binary, measured in the same run:
      {"binary", "slow", "fast"}            ratio = time(slow) / time(fast)
                                            (minimum over repetitions)
      {"binary", "num", "den", "metric"}    ratio = metric(num) / metric(den)
                                            (median counter, e.g.
                                            pixels_per_image)
    with "min_speedup" (ratio >= it) and/or "max_ratio" (ratio <= it).
    """
    failures, skipped, oks = [], [], []
    for rule in config.get("ratios", []):
        got_bin = results.get(rule["binary"], {})
        num_name = rule.get("num", rule.get("slow"))
        den_name = rule.get("den", rule.get("fast"))
        metric = rule.get("metric", "time")
        num, den = got_bin.get(num_name), got_bin.get(den_name)
        label = f"{rule['binary']}: {metric} {num_name} / {den_name}"
        if num is None or den is None:
            failures.append(f"{label}: benchmark missing")
            continue
        if num["skipped"] or den["skipped"]:
            skipped.append(f"{label}: {num['skipped'] or den['skipped']}")
            continue
        a, b = _rule_value(num, metric), _rule_value(den, metric)
        if a is None or b is None or b == 0:
            failures.append(f"{label}: no {metric} to compare")
            continue
        ratio = a / b
        if update:
            rule["measured"] = round(ratio, 3)
        lo, hi = rule.get("min_speedup"), rule.get("max_ratio")
        if lo is not None and ratio < lo:
            failures.append(f"{label} = {ratio:.3f}, below {lo}")
        elif hi is not None and ratio > hi:
            failures.append(f"{label} = {ratio:.3f}, above {hi}")
        else:
            bounds = []
            if lo is not None:
                bounds.append(f">= {lo}")
            if hi is not None:
                bounds.append(f"<= {hi}")
            oks.append(f"ratio {label} = {ratio:.3f} ({', '.join(bounds)})")
    return failures, skipped, oks


def machine():
    """The CPU model and core count, as the history records them."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count()}


if __name__ == "__main__":
    # perf_lib.py targets CONFIG [a,b]: the Bazel labels of the gate's
    # binaries, for the shell scripts.
    import sys
    if len(sys.argv) not in (3, 4) or sys.argv[1] != "targets":
        sys.exit("usage: perf_lib.py targets CONFIG [BINARY,...]")
    only = [b for b in (sys.argv[3] if len(sys.argv) == 4 else "").split(",")
            if b]
    print(" ".join(bazel_targets(load_config(sys.argv[2]), only)))
