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
    """One 100% bar per beat (or station): long-unvisited, long-unconfirmed only, and the rest, in % of premises.
    Every share is labelled: inside its segment, or beside the bar when the segment is too narrow."""
    plt = _pyplot()
    n = len(labels)
    fig, ax = plt.subplots(figsize=(180 * MM, (16 + 5 * n) * MM))
    ys = list(range(n))[::-1]
    ok = [max(0.0, 100 - a - b) for a, b in zip(unvisited, unconfirmed_only)]
    parts = [(ok, VISITED, "white", "頻度内に面接しカードも把握"), (unconfirmed_only, UNCONFIRMED, "#1d1d1d", "長期未把握のみ"),
             (unvisited, OVERDUE, "white", "長期不実施")]
    left = [0.0] * n
    for values, colour, ink, label in parts:
        ax.barh(ys, values, 0.7, left=left, color=colour, label=label)
        for y, x0, v in zip(ys, left, values):
            if v >= 6:
                ax.text(x0 + v / 2, y, f"{v:.0f}%", va="center", ha="center", fontsize=6.5, color=ink)
        left = [a + b for a, b in zip(left, values)]
    for y, shares in zip(ys, zip(ok, unconfirmed_only, unvisited)):
        if any(s < 6 for s in shares):  # too narrow to hold its label: all three shares beside the bar, in the legend's order
            ax.text(101, y, " / ".join(f"{s:.0f}%" for s in shares), va="center", ha="left", fontsize=6)
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
    ax.set_ylabel("戸", rotation=0, labelpad=8)
    ax.legend(loc="lower left", fontsize=7)
    return _svg(fig)


def weekly(weeks: list[date], met: list[int], not_met: list[int], days: list[int], title: str) -> str:
    """Visits per week (Monday first), split into those that met a resident and the rest, each count
    written on its bar. A week only partly in the period (`days` < 7) is drawn lighter and hatched and
    labelled with the days it holds, so a short bar is not read as a slack week."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(82 * MM, 58 * MM))
    xs = list(range(len(weeks)))
    full = [d >= 7 for d in days]
    for x, m, o, whole in zip(xs, met, not_met, full):
        style = {} if whole else dict(alpha=0.45, hatch="////", edgecolor="#555", linewidth=0)
        ax.bar(x, m, color=VISITED, **style)
        ax.bar(x, o, bottom=m, color=OTHER, **style)
        for value, y0, ink in ((m, 0, "white" if whole else "#1d1d1d"), (o, m, "#1d1d1d")):
            if value:
                ax.text(x, y0 + value / 2, str(value), ha="center", va="center", fontsize=4.5, color=ink)
    top = max([m + o for m, o in zip(met, not_met)] + [1])
    step = max(1, -(-len(weeks) // 7))  # at most seven labels, and always the partial weeks
    ticks = [x for x in xs if x % step == 0 or not full[x]]
    ax.set_xticks(ticks, [f"{weeks[x].month}/{weeks[x].day}" + ("" if full[x] else f"\n(一部\n{days[x]}日)")
                          for x in ticks], fontsize=6, rotation=0)
    ax.set_ylim(0, top * 1.05)
    ax.grid(axis="y", color="#ddd", linewidth=0.5)
    ax.set_axisbelow(True)
    ax.set_ylabel("件", rotation=0, labelpad=8)
    ax.set_xlabel("週の初日 (月曜)。薄い斜線の棒は期間に一部の日だけ含まれる週", fontsize=6.5)
    from matplotlib.patches import Patch

    ax.set_title(title, loc="left", pad=14)
    ax.legend(handles=[Patch(color=VISITED, label="面接あり"), Patch(color=OTHER, label="不在・拒否")],
              loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=7, ncol=2, borderaxespad=0.1)
    return _svg(fig)
