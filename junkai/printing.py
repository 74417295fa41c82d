"""Print batches of 巡回連絡カード: which cards, in what order, with which values.

Officers carry a card to every visit (第6-7(1)); a pre-filled card shows what the
store knows so residents can correct it (第6-7(3)), a blank one serves a new
household or business. A batch is planned from the store (walking order, print ids,
the member rows of every sheet), written as one PDF (cover sheet first), and recorded
so that a scan read later finds the card version each card was printed from.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

from junkai import JunkaiError, files, model
from junkai import form as F
from junkai import qr
from junkai.form import lang as L
from junkai.pdf import Canvas, Font, Writer
from junkai.wareki import wareki_text

FORM_NAME = b"FP"  # resource names of the form pages: FP0, FP1, ...


@dataclass
class Job:
    """One card to print: a premises' card (pre-filled) or a blank one."""
    print_id: str
    seq: int
    form: str
    beat_id: str
    post: str
    officer: str
    premises: dict | None = None
    data: dict = field(default_factory=dict)
    version: int = 0
    created_on: date | None = None
    rows: dict[str, dict[str, str]] = field(default_factory=dict)  # group -> {form row: key}
    sheets: int = 1
    language: str = L.DEFAULT  # of the form's printed words (junkai.form.lang); the layout is the same
    contact: str = ""  # who keeps the card, for how long, and whom to ask (layouts with a "contact" slot)

    @property
    def blank(self) -> bool:
        return self.premises is None

    @property
    def variant(self) -> str:
        return "blank" if self.blank else "prefilled"


@dataclass
class Batch:
    id: str
    printed_at: datetime
    operator: str
    scope: dict
    jobs: list[Job]
    beats: list[dict]  # for the cover: id, name, post, officer

    @property
    def sheets(self) -> int:
        return sum(j.sheets for j in self.jobs)


# --- order and identity -----------------------------------------------------------------


_KANJI_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}


def _kanji_number(run: str) -> str:
    """'十二' → '12', '二〇三' → '203': addresses written in kanji numerals walk like Arabic ones."""
    if not any(c in _KANJI_UNITS for c in run):
        return "".join(str(_KANJI_DIGITS[c]) for c in run)
    total, digit = 0, 0
    for c in run:
        if c in _KANJI_UNITS:
            total += (digit or 1) * _KANJI_UNITS[c]
            digit = 0
        else:
            digit = _KANJI_DIGITS[c]
    return str(total + digit)


def _natural(text: str | None) -> tuple:
    """'5丁目28-3' < '5丁目28-25' < '10丁目1-1' (also 五丁目 < 十丁目): numbers compare as numbers."""
    t = unicodedata.normalize("NFKC", text or "")
    t = re.sub(r"[〇一二三四五六七八九十百千]+", lambda m: _kanji_number(m.group(0)), t)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", t) if p)


def walking_order(premises: list[dict]) -> list[dict]:
    """Address order: town by town, then block and number (2 before 10), building, room.

    Towns follow their postal codes, which run through an area street by street."""
    first_code: dict[tuple, str] = {}
    for p in premises:
        k = (p["city"], p["town"])
        first_code[k] = min(first_code.get(k, p["postal_code"]), p["postal_code"])

    def key(p: dict) -> tuple:
        return (p["city"], first_code[(p["city"], p["town"])], p["town"], _natural(p["block"]),
                p.get("building") or "", _natural(p.get("room")), p["id"])

    return sorted(premises, key=key)


def address_text(p: dict) -> str:
    line = f"{p['prefecture']}{p['city']}{p['town']}{p['block']}"
    extra = " ".join(x for x in (p.get("building"), p.get("room")) if x)
    return f"{line} {extra}" if extra else line


def new_batch_id(now: datetime) -> str:
    return f"{now:%Y%m%d}-" + "".join(secrets.choice(qr.ALPHABET) for _ in range(6))


def _row_keys(data: dict, group: str) -> dict[str, str]:
    keys = sorted(data.get(group, {}), key=lambda k: (int(k) if k.isdigit() else 0, k))
    return {str(i + 1): k for i, k in enumerate(keys)}


# --- planning ---------------------------------------------------------------------------


# The notice's sentence that differs by card, as templates: a language version translates these
# (junkai/form/lang), the station's and post's names and the phone number are filled in as they are.
CONTACT = "カードは{station}が保管し、{keep}消去します。内容の確認・訂正・削除のご希望やお問い合わせは、{ask}へどうぞ。"
CONTACT_KEEP_YEARS = "転出・廃業から{years}年たつと"
CONTACT_KEEP = "転出後、定められた期間がたつと"
CONTACT_ASK_PHONE = "{post}（電話 {phone}）"
CONTACT_TEMPLATES = (CONTACT, CONTACT_KEEP_YEARS, CONTACT_KEEP, CONTACT_ASK_PHONE)


def contact_text(station: str, post: str, phone: str | None, keep_years: int | None, lang: str = L.DEFAULT) -> str:
    """The sentence of the notice that differs by card: keeper, keeping period, whom to ask."""
    keep = (L.word(CONTACT_KEEP_YEARS, lang).format(years=keep_years) if keep_years
            else L.word(CONTACT_KEEP, lang))
    ask = L.word(CONTACT_ASK_PHONE, lang).format(post=post, phone=phone) if phone else post
    return L.word(CONTACT, lang).format(station=station, keep=keep, ask=ask)


def plan(store, *, premises_ids: Iterable[int] = (), beat: str | None = None, blank: int = 0,
         blank_form: str = model.HOUSEHOLD, operator: str, now: datetime | None = None, members: int = 0,
         keep_years: int | None = None, kind: str | None = None, lang: str | None = None) -> Batch:
    """Decide what a batch holds: the cards asked for, in walking order, each with its print id.

    Blank cards get sheets for `members` people; `keep_years` is how long the station keeps
    a card after the residents left ([retention] ceased_years; None: not stated in years).
    `kind`: only a beat's cards of that type (e.g. its buildings' 集合住宅用 cards).
    `lang`: the language of every card; None: each premises' preferred one (the card's
    `language`), else Japanese."""
    now = now or datetime.now()
    if lang is not None:
        L.check(lang)
    ids = list(dict.fromkeys(premises_ids))
    if blank < 0:
        raise JunkaiError(f"白紙カードの枚数は 0 以上です: {blank}")
    if members < 0 or members > 60:
        raise JunkaiError(f"白紙カードの人数は 0 から 60 までです: {members}")
    if members and not blank:
        raise JunkaiError("--members は白紙カード (--blank) の人数です")
    if blank and ids:
        raise JunkaiError("--blank と --premises は同時に指定できません (白紙カードは --beat と指定してください)")
    if blank and not beat:
        raise JunkaiError("白紙カードには受持区 (--beat) を指定してください")
    if not ids and not beat:
        raise JunkaiError("--premises、--beat、--blank のいずれかを指定してください")
    beats: dict[str, dict] = {}

    def beat_info(beat_id: str) -> dict:
        if beat_id not in beats:
            b = store.beat(beat_id)
            post = store.post(b["post_id"])
            officer_id = store.officer_at(beat_id, now.date())
            officer = store.officer(officer_id)["name"] if officer_id else "（未配置）"
            station = store.station_names().get(post["station_id"], "警察署")
            beats[beat_id] = dict(id=beat_id, name=b["name"], post=post["name"], officer=officer,
                                  contact=(station, post["name"], post.get("phone"), keep_years))
        return beats[beat_id]

    cards = []
    if ids:
        for pid in ids:
            card = store.card(pid)
            if card.premises["status"] != model.ACTIVE:
                raise JunkaiError(f"各戸 {pid} は転出・廃業の扱いです。カードは印刷しません")
            if beat and card.premises["beat_id"] != beat:
                raise JunkaiError(f"各戸 {pid} は受持区 {beat} にありません ({card.premises['beat_id']})")
            cards.append(card)
    elif beat and not blank:
        cards = [c for c in store.cards_of_beat(beat) if c.premises["status"] == model.ACTIVE
                 and (kind is None or c.premises["kind"] == kind)]
    if beat:
        beat_info(beat)
    by_id = {c.premises["id"]: c for c in cards}
    cards = [by_id[p["id"]] for p in walking_order([c.premises for c in cards])]

    jobs: list[Job] = []
    seen: set[str] = set()

    def print_id() -> str:
        while True:  # ids are random; a repeat within a batch is astronomically rare but cheap to exclude
            pid = qr.new_print_id()
            if pid not in seen:
                seen.add(pid)
                return pid

    for card in cards:
        p = card.premises
        info = beat_info(p["beat_id"])
        rows = {g: _row_keys(card.data, g) for g in model.KIND_GROUPS[p["kind"]]}
        sheets = F.pages_needed(p["kind"], {g: len(r) for g, r in rows.items()})
        language = lang or card.data.get("language") or L.DEFAULT
        jobs.append(Job(print_id(), len(jobs) + 1, p["kind"], p["beat_id"], info["post"], info["officer"],
                        premises=p, data=card.data, version=card.version, created_on=card.created_on,
                        rows=rows, sheets=sheets, language=language,
                        contact=contact_text(*info["contact"], lang=language)))
    for _ in range(blank):
        info = beat_info(beat)
        # a blank card's people are its newcomers: the sheets for `members` of them (one row is always spare)
        sheets = F.pages_needed(blank_form, {"members": max(members - 1, 0)} if members else {})
        language = lang or L.DEFAULT
        jobs.append(Job(print_id(), len(jobs) + 1, blank_form, beat, info["post"], info["officer"], sheets=sheets,
                        language=language, contact=contact_text(*info["contact"], lang=language)))
    if not jobs:
        which = f"{model.PREMISES_KINDS[kind]}の" if kind else ""
        raise JunkaiError(f"印刷するカードがありません (受持区 {beat} に現存の{which}各戸がありません)")
    # a missing translation is found here, before anything is written
    for form, sheets, language in {(j.form, j.sheets, j.language) for j in jobs}:
        for sheet in range(1, sheets + 1):
            L.translate(F.page(form, sheet), language)
    # the language of every card not in Japanese is kept with the record, so a reprint can use it
    languages = {j.print_id: j.language for j in jobs if j.language != L.DEFAULT}
    scope = dict(premises=ids, beat=beat, blank=blank, blank_form=blank_form if blank else None, lang=lang,
                 languages=languages)
    if kind and not blank:
        scope["kind"] = kind
    if members:
        scope["members"] = members
    return Batch(new_batch_id(now), now, operator, scope, jobs,
                 [{k: v for k, v in b.items() if k != "contact"} for b in beats.values()])


# --- what goes into each box ------------------------------------------------------------


def _show(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "・".join(str(v) for v in value)
    return str(value)


def values(job: Job, page: F.Page) -> dict[str, str]:
    """Field id -> the text printed in its value box on this sheet (pre-filled cards only)."""
    if job.blank:
        return {}
    out: dict[str, str] = {}
    p = job.premises
    for f in page.fields:
        if f.value_box is None or f.path is None:
            continue
        if f.path == "@premises.postal_code":
            text = f"{p['postal_code'][:3]}-{p['postal_code'][3:]}"
        elif f.path == "@premises.address":
            text = address_text(p)
        elif f.group:
            key = job.rows.get(f.group, {}).get(str(f.row))
            if key is None:
                continue
            value = model.get_path(job.data, f.path.format(key=key))
            text = wareki_text(value) if f.kind == "date" and value else _show(value)
        else:
            value = model.get_path(job.data, f.path)
            text = wareki_text(value) if f.kind == "date" and value else _show(value)
        if text:
            out[f.id] = text
    return out


def payload(job: Job, sheet: int) -> qr.Payload:
    return qr.Payload(job.form, F.latest(job.form), job.print_id, sheet, job.sheets,
                      None if job.blank else job.premises["id"], job.version, job.beat_id, job.language)


# --- the cover --------------------------------------------------------------------------


def cover(batch: Batch) -> dict:
    rows: list[dict] = []
    for job in batch.jobs:
        blank_for = "集合住宅用" if job.form == model.APARTMENT else "新しい世帯・事業所用"
        town = f"白紙カード（{blank_for}）" if job.blank else f"{job.premises['city']}{job.premises['town']}"
        block = "" if job.blank else job.premises["block"]
        if rows and rows[-1]["town"] == town:
            r = rows[-1]
            r.update(last=block, cards=r["cards"] + 1, sheets=r["sheets"] + job.sheets, to=job.seq)
        else:
            rows.append(dict(town=town, first=block, last=block, cards=1, sheets=job.sheets, since=job.seq,
                             to=job.seq))
    for r in rows:
        r["blocks"] = r["first"] if r["first"] == r["last"] else f"{r['first']} 〜 {r['last']}"
        r["seq"] = str(r["since"]) if r["since"] == r["to"] else f"{r['since']}〜{r['to']}"
    jobs = batch.jobs
    blank = sum(j.blank for j in jobs)
    households = sum(j.form == model.HOUSEHOLD for j in jobs)
    buildings = sum(j.form == model.APARTMENT for j in jobs)
    extra = batch.sheets - len(jobs)
    summary = (f"カード {len(jobs)} 枚（記入済み {len(jobs) - blank}・白紙 {blank}、世帯用 {households}・"
               f"事業所用 {len(jobs) - households - buildings}" + (f"・集合住宅用 {buildings}" if buildings else "")
               + f"）、用紙 {batch.sheets} 枚"
               + (f"（続きの用紙 {extra} 枚を含む）" if extra else ""))
    langs = Counter(j.language for j in jobs if j.language != L.DEFAULT)
    if langs:  # the officer hands each resident the card in their language
        summary += "。日本語以外: " + "・".join(f"{L.NAMES.get(k, k)} {n} 枚" for k, n in sorted(langs.items()))
    return dict(batch_id=batch.id, printed_at=f"{wareki_text(batch.printed_at.date())} {batch.printed_at:%H:%M}",
                operator=batch.operator, beats=batch.beats, summary=summary,
                order="住所順（町名ごとに、番地・号の数の小さい順）。各カードの右上に通番があります。", rows=rows)


# --- writing ----------------------------------------------------------------------------


def write(batch: Batch, fh: BinaryIO, key: bytes, font: Font | None = None,
          on_card: Callable[[int, int], None] | None = None) -> int:
    """Write the batch as one PDF to `fh`, page by page; returns the number of pages.
    `on_card(done, total)` is told after every card (a progress bar)."""
    from junkai import render

    font = font or Font()
    set_contact = {j.print_id: _set_contact(j, font) for j in batch.jobs}
    needed = sorted({(j.form, s, j.variant, j.language, set_contact[j.print_id]) for j in batch.jobs
                     for s in range(1, j.sheets + 1)})
    pages = [(_with_contact(L.translate(F.page(form, sheet), language), contact), variant, language)
             for form, sheet, variant, language, contact in needed]
    index = {k: i for i, k in enumerate(needed)}
    rendered = render.render(pages, cover(batch), title=f"巡回連絡カード {batch.id}")
    writer = Writer(fh, rendered.next_number)
    rendered.write_into(writer)
    font_number, resources = writer.reserve(), writer.reserve()
    forms = b"".join(b"/%s%d %d 0 R" % (FORM_NAME, i, n) for i, n in enumerate(rendered.forms))
    writer.object(resources, b"<</XObject <<%s>>/Font <</JV %d 0 R>>>>" % (forms, font_number))
    for done, job in enumerate(batch.jobs, 1):
        contact = set_contact[job.print_id]
        for sheet in range(1, job.sheets + 1):
            page = F.page(job.form, sheet)
            canvas = Canvas(font)
            canvas.form(b"%s%d" % (FORM_NAME, index[(job.form, sheet, job.variant, job.language, contact)]))
            stamp(canvas, job, sheet, page, key, stamp_contact=not contact)
            contents = writer.stream(writer.reserve(), canvas.data())
            writer.page(writer.reserve(), resources, [contents])
        if on_card:
            on_card(done, len(batch.jobs))
    writer.font(font, font_number)
    writer.close({"Title": f"巡回連絡カード {batch.id}", "Creator": "junkai",
                  "CreationDate": f"D:{batch.printed_at:%Y%m%d%H%M%S}"})
    return len(writer.page_numbers)


def _set_contact(job: Job, font: Font) -> str:
    """The contact sentence when the card's form sets it itself: a sentence the stamped face (IPAex)
    cannot draw all of (Korean, simplified Chinese) is set with the form's words, in the language's
    face (one form per post); otherwise it is stamped."""
    return job.contact if any(ord(ch) not in font.gids for ch in job.contact if not ch.isspace()) else ""


def _with_contact(page: F.Page, contact: str) -> F.Page:
    slot = next((s for s in page.slots if s.id == "contact"), None)
    if not contact or slot is None:
        return page
    return dataclasses.replace(page, texts=(*page.texts, F.Text(slot.box, contact, "notice")))


def stamp(canvas: Canvas, job: Job, sheet: int, page: F.Page, key: bytes, stamp_contact: bool = True) -> None:
    """Everything one card sheet adds to its form: identity, header facts, values, QR code; the contact
    sentence unless the form sets it (`_set_contact`)."""
    slots = {
        "post": job.post, "officer": job.officer, "print_id": qr.show_print_id(job.print_id),
        "page": f"{job.sheets}枚中{sheet}枚目" if job.language == L.DEFAULT else f"{sheet} / {job.sheets}",
        "seq": str(job.seq),
        "created_on": "" if job.blank or not job.created_on else wareki_text(job.created_on),
        "contact": job.contact if stamp_contact else "",
    }
    resident = {"post", "officer", "created_on", "contact"}  # read by the resident: the layout's value size
    for s in page.slots:
        if slots.get(s.id):
            if s.id in resident:
                canvas.text(slots[s.id], s.box, max_pt=page.value_pt if s.id != "contact" else 10.0,
                            min_pt=page.value_min_pt, max_lines=2 if s.id == "contact" else 3)
            else:
                canvas.text(slots[s.id], s.box, max_pt=9.0, min_pt=6.0)
    for fid, text in values(job, page).items():
        canvas.text(text, page.field(fid).value_box, max_pt=page.value_pt, min_pt=page.value_min_pt)
    canvas.modules(qr.matrix(qr.encode(payload(job, sheet), key)), page.qr)


def write_file(batch: Batch, out_dir: Path, key: bytes,
               on_card: Callable[[int, int], None] | None = None) -> tuple[Path, int]:
    """Write to a temporary name in `out_dir`, owner-only; the caller renames it into place."""
    return files.write_temp(out_dir, "cards.pdf", lambda fh: write(batch, fh, key, on_card=on_card))


def file_name(batch: Batch) -> str:
    beat = batch.scope.get("beat")
    kind = "blank" if batch.scope.get("blank") else "cards"
    return f"{kind}-{beat + '-' if beat else ''}{batch.id}.pdf"


def print_cards(store, out_dir: Path, key: bytes, on_card: Callable[[int, int], None] | None = None,
                **plan_args) -> tuple[Batch, Path, int]:
    """Plan, write and record one batch; returns it with the file's path and page count.

    The cards are read in one short transaction and the file is written outside any,
    so a long print holds no lock; the record and the file's final name then appear
    together, or neither does."""
    with store.transaction():
        batch = plan(store, **plan_args)
    tmp, pages = write_file(batch, out_dir, key, on_card)
    final = out_dir / file_name(batch)
    try:
        with store.transaction():
            record(store, batch, final)
            files.place(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        final.unlink(missing_ok=True)  # renamed, but the record was not committed
        raise
    return batch, final, pages


def record(store, batch: Batch, path: Path) -> None:
    """The print is an export of personal data: who, when, which card versions (audited)."""
    store.record_print(
        dict(id=batch.id, printed_at=batch.printed_at, operator=batch.operator, scope=batch.scope,
             cards=len(batch.jobs), sheets=batch.sheets, path=str(path)),
        [dict(print_id=j.print_id, premises_id=None if j.blank else j.premises["id"], card_version=j.version,
              beat_id=j.beat_id, form_type=j.form, form_version=F.latest(j.form), sheets=j.sheets, rows=j.rows)
         for j in batch.jobs])
    store.audit(batch.operator, "print", "print_batch", batch.id, path=str(path), cards=len(batch.jobs),
                sheets=batch.sheets, premises=[j.premises["id"] for j in batch.jobs if not j.blank],
                blank=sum(j.blank for j in batch.jobs), scope=json.loads(json.dumps(batch.scope)))
