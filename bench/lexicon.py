"""The name dictionary on the simulator's names: how many written names it confirms with
their フリガナ, and how many フリガナ with one character misread it rejects.

Every family name of the simulator's list is paired with every given name (the lists
junkai.seed and junkai.simulate draw from), written as the simulator writes them (a
full-width space between the parts) and again without the space, as a recogniser may
return them. A wrong フリガナ changes one character, not the space, to another katakana.
Nothing is rendered: this measures the dictionary, not the recogniser.

Reported: shares confirmed / doubted / without evidence for the right pairs, and for the
wrong ones the share doubted (what ocr.evidence lowers) and the share confirmed (what it
would wrongly raise); the time to load the dictionary in a fresh process.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter

KATAKANA = ("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン"
            "ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポャュョッー")


def pairs() -> list[tuple[str, str, str, str]]:
    """(family, given, family kana, given kana) of every pairing of the simulator's lists."""
    from junkai import seed_data as W

    family = list(dict.fromkeys(W.SURNAMES))
    given = list(dict.fromkeys(g for male, female in W.GIVEN.values() for g in male + female))
    return [(f, g, fk, gk) for f, fk in family for g, gk in given]


def misread(kana: str, rng: random.Random) -> str:
    """The フリガナ with one character (not the space) changed to another katakana."""
    chars = list(kana)
    i = rng.choice([i for i, ch in enumerate(chars) if ch != "　"])
    chars[i] = rng.choice([ch for ch in KATAKANA if ch != chars[i]])
    return "".join(chars)


def measure(seed: int = 1) -> dict:
    from ocr import lexicon as L

    rng = random.Random(seed)
    right, unspaced, wrong, wrong_unspaced = Counter(), Counter(), Counter(), Counter()
    all_pairs = pairs()
    for f, g, fk, gk in all_pairs:
        right[L.name_fits(f"{f}　{g}", f"{fk}　{gk}")] += 1
        unspaced[L.name_fits(f + g, fk + gk)] += 1
        bad = misread(f"{fk}　{gk}", rng)
        wrong[L.name_fits(f"{f}　{g}", bad)] += 1
        wrong_unspaced[L.name_fits(f + g, bad.replace("　", ""))] += 1
    n = len(all_pairs)

    def share(c: Counter, *fits) -> float:
        return round(sum(c[x] for x in fits) / n, 4)

    return dict(
        pairs=n,
        confirmed=share(right, L.CONFIRMED),
        confirmed_unspaced=share(unspaced, L.CONFIRMED),
        right_doubted=share(right, L.MISMATCH, L.UNEXPLAINED, L.LOOSE),
        right_no_evidence=share(right, None, L.COMPOSED),
        wrong_doubted=share(wrong, L.MISMATCH, L.UNEXPLAINED, L.LOOSE),
        wrong_confirmed=share(wrong, L.CONFIRMED),
        wrong_no_evidence=share(wrong, None, L.COMPOSED),
        wrong_doubted_unspaced=share(wrong_unspaced, L.MISMATCH, L.UNEXPLAINED, L.LOOSE),
    )


def load_seconds() -> float:
    """Import, load and first lookup of the dictionary in a fresh process."""
    code = ("import time; t = time.perf_counter(); from ocr import lexicon as L; L.part_readings('佐藤', '姓'); "
            "print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return round(float(out.stdout.strip()), 3)


def run(args, workdir) -> dict:
    return dict(measure(), load_seconds=load_seconds())


if __name__ == "__main__":
    print(run(None, None))
