"""What the docs' charts share (tools/plot_pixels.py, tools/perf/report.py):
matplotlib on the Agg backend with SVG text kept as text, and writing a
figure atomically in the format its file name says."""
import os
import sys


def pyplot():
    """matplotlib's pyplot; SystemExit naming the Debian package where
    matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise SystemExit(f"{sys.argv[0]}: matplotlib is missing ({e}); on "
                         "Debian: apt-get install python3-matplotlib")
    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "sniper"})
    return plt


def save(plt, fig, out):
    """Writes `fig` to `out` (svg, png or pdf by its extension) through a
    temporary file, then closes it."""
    tmp = out + ".tmp"
    fmt = os.path.splitext(out)[1][1:].lower() or "svg"
    fig.savefig(tmp, format=fmt, dpi=100,
                metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)
    os.replace(tmp, out)
