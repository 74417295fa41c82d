"""Language versions of the printed card: the same layout, other words.

A card printed in English, Chinese or Korean has every box where the Japanese one has
it, so a scan is read exactly as a Japanese one (same version in the QR code); only the
form's own printed words change: labels, options, section titles, instructions and the
notice. The values printed on a pre-filled card stay as they are.

Each language is one file here, `<code>.toml`, mapping the Japanese text of a printed
string to its translation. It is keyed by text, not by field, so it serves every form
version and card type: a new version or type only adds entries. A string with no
translation is an error at print time that names it. Strings of digits and signs
(row numbers, "-") are printed as they are.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from functools import lru_cache
from pathlib import Path

from junkai import JunkaiError
from junkai.form.geometry import Box, Page

HERE = Path(__file__).resolve().parent
DEFAULT = "ja"
NAMES = {"ja": "日本語", "en": "英語", "zh": "中国語（簡体字）", "ko": "韓国語"}
# each language's typeface is chosen in templates/card.css (IPAex has no Hangul, nor simplified Chinese)
GAP_CLEAR = 0.15  # mm kept clear before the next tick box
_PLAIN = re.compile(r"^[0-9\s\-/.,:()]*$")


def languages() -> tuple[str, ...]:
    """Japanese and every language with a translation file."""
    return (DEFAULT, *sorted(p.stem for p in HERE.glob("*.toml")))


def check(lang: str) -> str:
    if lang not in languages():
        raise JunkaiError(f"カードの言語は {' / '.join(languages())} です: {lang!r}")
    return lang


@lru_cache(maxsize=None)
def table(lang: str) -> dict[str, str]:
    """Japanese text -> its translation, as the language's file gives it."""
    if check(lang) == DEFAULT:
        return {}
    path = HERE / f"{lang}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise JunkaiError(f"翻訳ファイルを読めません: {path.name}: {exc}") from exc
    bad = [k for k, v in data.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise JunkaiError(f"翻訳ファイル {path.name} の訳が文字列ではありません: {bad[0]!r}")
    return data


def word(text: str, lang: str) -> str:
    """One printed string in `lang`; JunkaiError naming it when the language's file lacks it."""
    if lang == DEFAULT or _PLAIN.match(text):
        return text
    try:
        return table(lang)[text]
    except KeyError:
        raise JunkaiError(f"{NAMES.get(lang, lang)}の訳がありません ({lang}.toml): {text!r}") from None


def printed(page: Page) -> list[tuple[str, Box, str]]:
    """Every word the form itself prints on a page: (Japanese text, its box, its style).

    What templates/card.html.j2 draws, on either variant (blank or pre-filled)."""
    out = []
    for f in page.fields:
        change = f.id.endswith(".change")
        if not change:
            out.append((f.label, f.label_box, "label"))
        out.extend((o.label, o.label_box, "change" if change else "option") for o in f.options if o.label)
    out.extend((t.text, t.box, t.style) for t in page.texts)
    return out


def strings(page: Page) -> set[str]:
    """The strings of a page a translation file must have."""
    return {text for text, _, _ in printed(page) if not _PLAIN.match(text)}


def _room(f, i: int) -> Box:
    """A tick box's word may use the gap the layout leaves after it, up to the next tick box
    (or the field's edge): drawing only; the reader reads the tick boxes, which stay put."""
    b = f.options[i].label_box
    after = [o.box.x for o in f.options[i + 1:i + 2]] + [c.x for c in f.cells if c.x >= b.right]
    end = min(after, default=f.box.right)
    return Box(b.x, b.y, max(b.w, end - GAP_CLEAR - b.x), b.h)


def translate(page: Page, lang: str) -> Page:
    """The page with its printed words in `lang`: every box where it is."""
    if check(lang) == DEFAULT:
        return page
    r = dataclasses.replace

    def field(f):
        opts = tuple(r(o, label=word(o.label, lang) if o.label else "", label_box=_room(f, i))
                     for i, o in enumerate(f.options))
        label = f.label if f.id.endswith(".change") else word(f.label, lang)
        return r(f, label=label, options=opts)

    return r(page, fields=tuple(field(f) for f in page.fields),
             texts=tuple(r(t, text=word(t.text, lang)) for t in page.texts),
             sections=tuple(r(s, title=word(s.title, lang)) for s in page.sections))
