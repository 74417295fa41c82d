"""Charts for the reports: matplotlib (Agg, no display) drawn to SVG and embedded in the PDF.

Text stays text in IPAex Gothic, the font the report itself is set in, so WeasyPrint sets
it with the same embedded font (drawn as outlines, a page took twice as long to lay out).
Each function takes plain data already computed by junkai.reports and returns the SVG as
text; nothing here counts.
"""

from __future__ import annotations

import io
from datetime import date
from functools import lru_cache
from pathlib import Path

from junkai import JunkaiError

IPAEX_GOTHIC = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")
MM = 1 / 25.4  # inches per millimetre
# colours that stay apart in grey print
VISITED, UNCONFIRMED, OVERDUE, OTHER = "#2f6b9a", "#e0a040", "#c0392b", "#b9c4cf"


@lru_cache(maxsize=1)
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager, pyplot

    path = IPAEX_GOTHIC if IPAEX_GOTHIC.is_file() else next(iter(sorted(Path("/usr/share/fonts").rglob("ipaexg.ttf"))),
                                                            None)
    if path is None:
        raise JunkaiError("IPAex ゴシックのフォントが見つかりません (apt-get install fonts-ipaexfont)")
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    pyplot.rcParams.update({
        "font.family": name, "font.size": 8, "svg.fonttype": "none", "axes.unicode_minus": False,
        "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 9,
        "legend.frameon": False, "svg.hashsalt": "junkai",  # the same data gives the same file
    })
    return pyplot


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(fig)
    return buf.getvalue()


def coverage(labels: list[str], unvisited: list[float], unconfirmed_only: list[float], title: str) -> str:
    """One 100% bar per beat (or station): long-unvisited, long-unconfirmed only, and the rest, in % of premises."""
    plt = _pyplot()
    n = len(labels)
    fig, ax = plt.subplots(figsize=(180 * MM, (16 + 5 * n) * MM))
    ys = list(range(n))[::-1]
    ok = [max(0.0, 100 - a - b) for a, b in zip(unvisited, unconfirmed_only)]
    ax.barh(ys, ok, 0.7, color=VISITED, label="頻度内に面接しカードも把握")
    ax.barh(ys, unconfirmed_only, 0.7, left=ok, color=UNCONFIRMED, label="長期未把握のみ")
    ax.barh(ys, unvisited, 0.7, left=[a + b for a, b in zip(ok, unconfirmed_only)], color=OVERDUE,
            label="長期不実施")
    for y, a in zip(ys, ok):
        ax.text(min(a, 100) - 1, y, f"{a:.0f}%", va="center", ha="right", fontsize=6.5, color="white")
    ax.set_yticks(ys, labels, fontsize=7)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    ax.set_title(title, loc="left", pad=14)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, fontsize=7, borderaxespad=0.1)
    return _svg(fig)


def trend(days: list[date], unvisited: list[int], unconfirmed: list[int], title: str) -> str:
    """Long-unvisited and long-unconfirmed counts at each month end."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(82 * MM, 55 * MM))
    xs = list(range(len(days)))
    ax.plot(xs, unvisited, marker="o", markersize=3, color=VISITED, label="長期不実施")
    ax.plot(xs, unconfirmed, marker="s", markersize=3, color=UNCONFIRMED, label="長期未把握")
    ax.set_xticks(xs, [str(d.month) for d in days], fontsize=7)
    if days:
        ax.set_xlabel(f"月末 ({days[0].year}年{days[0].month}月〜{days[-1].year}年{days[-1].month}月、最後は基準日)",
                      fontsize=7)
    ax.set_ylim(bottom=0, top=max([*unvisited, *unconfirmed, 1]) * 1.15)
    ax.grid(axis="y", color="#ddd", linewidth=0.5)
    ax.set_axisbelow(True)
    ax.set_title(title, loc="left")
    ax.set_ylabel("戸")
    ax.legend(loc="lower left", fontsize=7)
    return _svg(fig)


def weekly(weeks: list[date], met: list[int], not_met: list[int], title: str) -> str:
    """Visits per week (Monday first), split into those that met a resident and the rest."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(82 * MM, 55 * MM))
    xs = list(range(len(weeks)))
    ax.bar(xs, met, color=VISITED, label="面接あり")
    ax.bar(xs, not_met, bottom=met, color=OTHER, label="不在・拒否")
    step = max(1, -(-len(weeks) // 7))  # at most seven labels
    ax.set_xticks(xs[::step], [f"{w.month}/{w.day}" for w in weeks][::step], fontsize=7)
    ax.set_ylim(0, max([m + o for m, o in zip(met, not_met)] + [1]) * 1.2)
    ax.grid(axis="y", color="#ddd", linewidth=0.5)
    ax.set_axisbelow(True)
    ax.set_title(title, loc="left")
    ax.set_ylabel("件")
    ax.set_xlabel("週の初日 (月曜)")
    ax.legend(loc="upper left", fontsize=7, ncol=2)
    return _svg(fig)
