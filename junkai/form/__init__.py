"""The one definition of the printed 巡回連絡カード (第6-7(1), (4)), in every published version.

Every field of each card type has an id, a label, a kind and boxes in millimetres,
measured from the top-left corner of an A4 page (junkai.form.geometry). The templates
draw the form from this definition, the overlay prints pre-filled values into its value
boxes, `ocr/` reads scans by it, and `junkai form describe` prints it as JSON for anyone
placing ink on a test scan. No coordinate is written anywhere else.

A field id names a form row, not a model key ("members.2.name" is the second member
row printed); `model_path` turns it into a card path with the keys recorded for that
printed card.

Layouts are published like migrations: each version is a builder in its own module
(junkai.form.v1, ...), registered below for the card types it draws: a type added later
starts at a later version (the apartment building's card, junkai.form.apartment_v2, at 2).
Publish a new version when a box moves; never edit a published one. The version travels
in every QR code and a card may stay with a resident for years, so a scan is read with the
layout it was printed with, however old. New cards are printed with the newest version of
their type (latest(form); VERSION is the household card's). Every version keeps the
markers, the QR code, the title and the print id where version 1 has them: they are read
before the version is known.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from junkai import JunkaiError, model
from junkai.form import apartment_v2, v1, v2
from junkai.form.geometry import (BAND_W, CELL_W, CHANGED, DROPOUT, ENTRY, LABEL_PT, LEFT, MARKER,  # noqa: F401
                                  MARKER_INSET, OPTION_PT, PAGE_H, PAGE_W, PT, QR_BOX, REMOVED, RIGHT, STRIP,
                                  TICK, TINT, UNCHANGED, VALUE_PT, Box, Builder, Field, Option, Page, Section,
                                  Slot, Text, text_width)
from junkai.wareki import ERAS, to_wareki, wareki_text  # noqa: F401  (read as form.* before junkai.wareki)

# The card types of version 1, and what a version is published for unless it says otherwise.
TYPES = (model.HOUSEHOLD, model.BUSINESS)
# Every card type; a type added later starts at a later version (the apartment building's card at 2).
FORMS = (model.HOUSEHOLD, model.BUSINESS, model.APARTMENT)
TITLES = {model.HOUSEHOLD: "巡回連絡カード（世帯用）", model.BUSINESS: "巡回連絡カード（事業所用）",
          model.APARTMENT: "巡回連絡カード（集合住宅用）"}

Build = Callable[[str, int], Page]  # (card type, page number) -> the page, stamped with its version

# version -> card type -> builder: each version is published for the types it draws
_PUBLISHED: dict[int, dict[str, Build]] = {}


def published(form: str = model.HOUSEHOLD) -> tuple[int, ...]:
    """Every version a scan of a card type may carry, oldest first (by default the household card's)."""
    return tuple(sorted(v for v, builds in _PUBLISHED.items() if form in builds))


def latest(form: str = model.HOUSEHOLD) -> int:
    """The version new cards of a type are printed with (by default the household card's)."""
    versions = published(form)
    if not versions:
        raise JunkaiError(f"この種類のカードの様式は公開されていません: {form}")
    return versions[-1]


def __getattr__(name: str) -> int:
    # VERSION follows the registry rather than being fixed at import, so that whatever
    # prints a card stamps the version its layout was drawn with.
    if name in ("VERSION", "LATEST"):
        return latest()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _anchors(p: Page) -> tuple:
    title = next(t.box for t in p.texts if t.style == "title")
    return p.markers, p.qr, title, p.slot("print_id").box


def _reference(number: int) -> Page | None:
    """The oldest published page: every type and version keeps its anchors."""
    for version in sorted(_PUBLISHED):
        for form, build in _PUBLISHED[version].items():
            return _built(build, form, number)
    return None


def publish(version: int, build: Build, types: tuple[str, ...] = TYPES) -> None:
    """Register a layout under a version number for some card types; a number is never reused for a type.
    A layout printed larger than version 1 says its sizes on its pages (Page.value_pt, option_pt, ...)."""
    if version < 1:
        raise JunkaiError(f"様式の版は 1 以上です: {version}")
    unknown = [t for t in types if t not in FORMS]
    if unknown or not types:
        raise JunkaiError(f"カードの種類は {' / '.join(FORMS)} です: {unknown}")
    taken = [t for t in types if t in _PUBLISHED.get(version, {})]
    if taken:
        raise JunkaiError(f"様式 第{version}版 は公開済みです ({'・'.join(taken)})。変えるときは新しい版として公開してください")
    for form in types:
        for number in (1, 2):
            p = _built(build, form, number)
            if (p.form, p.version, p.number) != (form, version, number):
                raise JunkaiError(f"様式 第{version}版 の {form} {number}枚目が別の版・用紙として作られています")
            first = _reference(number)
            if first is not None and _anchors(p) != _anchors(first):
                raise JunkaiError(f"様式 第{version}版 はマーカー・QR コード・表題・印刷ID の位置を変えています"
                                  "（版を読む前に読む場所なので、どの版でも同じ位置に置きます）")
    _PUBLISHED[version] = {**_PUBLISHED.get(version, {}), **{t: build for t in types}}


@lru_cache(maxsize=128)
def _built(build: Build, form: str, number: int) -> Page:
    # keyed by the builder itself: a version withdrawn from the registry is not served from here
    built = build(form, number)
    for f in built.fields:
        _owners[id(f)] = (f, built)
    return built


# field object id -> (field, the page built with it): fields equal in value stand on several pages
# (address.change on both forms, a member row on every continuation sheet's copy of a layout)
_owners: dict[int, tuple[Field, Page]] = {}


def page_of(f: Field) -> Page | None:
    """The page a field of a built layout stands on (None: a field made elsewhere)."""
    hit = _owners.get(id(f))
    return hit[1] if hit is not None and hit[0] is f else None


def page(form: str, number: int = 1, version: int | None = None) -> Page:
    """The layout of one page of a card: 1 is the card (with 2 where the card takes two sheets,
    see Page.card_sheets), the sheets after it are continuation sheets.

    `version` is the one the card was printed with (from its QR code); None: the newest.
    """
    if form not in FORMS:
        raise JunkaiError(f"カードの種類は {' / '.join(FORMS)} です: {form!r}")
    if version is None:
        version = latest(form)
    build = _PUBLISHED.get(version, {}).get(form)
    if build is None:
        known = "・".join(f"第{v}版" for v in published(form))
        since = published(form)[:1]
        later = f"。この種類のカードは第{since[0]}版からです" if since and version < since[0] else ""
        raise JunkaiError(f"この版の様式は読めません: {form} 第{version}版 (公開済み: {known}){later}")
    if number < 1:
        raise JunkaiError(f"用紙の番号は 1 以上です: {number}")
    return _built(build, form, number)


def rows_per_sheet(form: str, version: int | None = None) -> dict[str, tuple[int, int]]:
    """group -> (rows on the card, rows on each continuation sheet) in a version's layout."""
    n = page(form, 1, version).card_sheets
    card: dict[str, int] = {}
    for number in range(1, n + 1):
        for g, (_, last) in page(form, number, version).rows.items():
            card[g] = max(card.get(g, 0), last)
    sheet = page(form, n + 1, version).rows
    return {g: (card.get(g, 0), last - first + 1) for g, (first, last) in sheet.items()}


def pages_needed(form: str, counts: dict[str, int], version: int | None = None) -> int:
    """Sheets a card needs: every row printed, and at least one empty member row for a newcomer."""
    n = need = page(form, 1, version).card_sheets
    for group, (first, more) in rows_per_sheet(form, version).items():
        rows = counts.get(group, 0) + (1 if group == "members" else 0)
        if rows > first:
            need = max(need, n + -(-(rows - first) // more))
    return need


def describe(form: str, pages: int = 2, version: int | None = None) -> dict:
    """The whole definition of one version (None: the newest) as plain data: what `junkai form describe` prints."""
    first = page(form, 1, version)
    sheets = dict(card_sheets=first.card_sheets) if first.card_sheets > 1 else {}
    return dict(
        form=form, version=first.version, title=TITLES[form], units="mm", origin="top_left",
        page_size=dict(w=PAGE_W, h=PAGE_H, name="A4"), dropout_color=DROPOUT,
        kinds=dict(text="手書きの文字", kana="カタカナ", digits="1マス1字の数字", date="元号の□と年月日の数字",
                   checkbox="□ に ✓ (multiple: 複数可)", free="自由記述"),
        rows={g: dict(first_page=a, each_continuation=b) for g, (a, b) in rows_per_sheet(form, version).items()},
        qr=dict(box=first.qr.json(), payload="junkai.qr: JK<form><version>:<print id>:<page>/<pages>:"
                                              "<premises id>:<card version>:<beat>:<tag>"),
        pages=[page(form, n, first.version).json() for n in range(1, pages + 1)], **sheets,
    )


# --- from a form field to the card model ---------------------------------------------------


def model_path(field_id: str, row_keys: dict[str, dict[str, str]], form: str = model.HOUSEHOLD,
               version: int | None = None) -> str | None:
    """The card path a field of a printed card stands for.

    `row_keys` is what was recorded when the card was printed: form row -> member or
    contact key. An empty row (a newcomer) has no key yet: None is returned for its
    fields and the caller allocates one (model.next_key). Facts outside the card keep
    their "@" path. `version` is the layout the card was printed with (None: the newest).
    """
    parts = field_id.split(".")
    group_fields = {"members": model.MEMBER_FIELDS, "contacts": model.CONTACT_FIELDS}
    if parts[0] in group_fields and len(parts) >= 2 and parts[1].isdigit():
        key = row_keys.get(parts[0], {}).get(parts[1])
        if key is None:
            return None
        if len(parts) == 3 and parts[2] == "remove":
            return f"{parts[0]}.{key}"
        return ".".join([parts[0], key, *parts[2:]])
    first = page(form, 1, version)
    fields = {f.id: f for n in range(1, first.card_sheets + 1) for f in page(form, n, version).fields}
    if field_id not in fields:
        raise JunkaiError(f"様式にない項目です: {field_id}")
    return fields[field_id].path


publish(v1.VERSION, v1.build)
publish(v2.VERSION, v2.build)
publish(apartment_v2.VERSION, apartment_v2.build, types=(model.APARTMENT,))
