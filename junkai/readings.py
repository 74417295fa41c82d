"""What reading a page gives: typed page and field readings, shared by ocr/ (which makes
them) and the pipeline (which validates, reconciles and stores them).

Statuses, field kinds and reason codes are str-valued enums, so the JSON form keeps
the plain strings stored rows and `junkai read --json` have always had. The JSON form
is lossless: `PageReading.from_json(r.to_json()) == r`, also through the store's
scan_page.result column. A reason code this version does not know (a row written by
a newer one) loads as a code of its own rather than failing the whole page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields as dc_fields
from enum import StrEnum
from typing import Any


class _OpenEnum(StrEnum):
    """A code outside the members loads as a member of its own (a newer version's code)."""

    @classmethod
    def _missing_(cls, value: object):
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member


class PageStatus(StrEnum):
    OK = "ok"
    PARTIAL = "partial"  # read, but something a person should know (no QR, guessed form, OCR timeout)
    FAILED = "failed"  # nothing on it is trusted: quarantined with its reason
    SKIPPED = "skipped"  # nothing to read (a blank back side)


class FieldKind(_OpenEnum):
    """The kinds of the form's fields (junkai.form), which decide how a field is read."""
    CHECKBOX = "checkbox"
    DIGITS = "digits"
    DATE = "date"
    TEXT = "text"
    KANA = "kana"
    FREE = "free"


class Reason(_OpenEnum):
    # the page
    BLANK_PAGE = "blank_page"
    EMPTY_FILE = "empty_file"
    UNREADABLE_FILE = "unreadable_file"
    BAD_PDF = "bad_pdf"
    BAD_PDF_PAGE = "bad_pdf_page"
    BAD_IMAGE = "bad_image"
    NOT_AN_IMAGE = "not_an_image"
    TOO_LARGE = "too_large"
    TOO_MANY_PAGES = "too_many_pages"  # more pages than [ocr] max_pages
    NOT_A_FILE = "not_a_file"  # a symbolic link, a FIFO, a device: never followed nor read
    DECODE_LIMIT = "decode_limit"  # decoding took longer or more memory than a page may
    MISSING_PAGE = "missing_page"
    UNREADABLE = "unreadable"  # a page that failed without a code of its own; a field with ink not read
    MARKERS_NOT_FOUND = "markers_not_found"
    ORIENTATION_UNKNOWN = "orientation_unknown"
    QR_UNREADABLE = "qr_unreadable"
    QR_INTEGRITY = "qr_integrity"
    QR_FOREIGN = "qr_foreign"
    FORM_GUESSED = "form_guessed"
    FORM_VERSION = "form_version"
    MARKERS_INFERRED = "markers_inferred"
    SKEWED_MARKERS = "skewed_markers"
    OCR_UNAVAILABLE = "ocr_unavailable"
    OCR_TIMEOUT = "ocr_timeout"  # page and field
    INTERNAL_ERROR = "internal_error"
    IDENTITY_FROM_PRINTED_ID = "identity_from_printed_id"
    NOISY_PAGE = "noisy_page"  # speckle, bleed-through, a light or dark scan, markers off, ticks everywhere
    # a field
    LOW_CONFIDENCE = "low_confidence"
    ENGINES_DISAGREE = "engines_disagree"  # two text recognisers read the crop differently
    AMBIGUOUS = "ambiguous"
    AMBIGUOUS_MARK = "ambiguous_mark"
    CANCELLED_MARK = "cancelled_mark"
    MULTIPLE_TICKS = "multiple_ticks"
    GAP_IN_DIGITS = "gap_in_digits"
    ERA_MISSING = "era_missing"
    DATE_INCOMPLETE = "date_incomplete"
    INK_IN_UNCHANGED_SECTION = "ink_in_unchanged_section"
    SECTION_UNCHANGED = "section_unchanged"
    # a field, weighed against the dictionary and the other fields (ocr.evidence)
    NAME_READING_MISMATCH = "name_reading_mismatch"
    POSTAL_UNKNOWN = "postal_unknown"
    POSTAL_ADDRESS_MISMATCH = "postal_address_mismatch"
    PHONE_INVALID = "phone_invalid"
    DATE_IMPOSSIBLE = "date_impossible"
    LEXICON_CHOICE = "lexicon_choice"
    UNREAD_INK = "unread_ink"  # ink in an entry that read as nothing: too little to be sure, or no text found
    FAINT_INK = "faint_ink"  # pale writing (a light scan, a pencil, a pale pen): seen, but read with doubt


# A page's reasons, as the person looking at the page reads them.
MESSAGES: dict[Reason, str] = {
    Reason.BLANK_PAGE: "白紙の頁 (裏面など) のため読み飛ばしました",
    Reason.MARKERS_NOT_FOUND: "位置合わせマーカーが見つかりません",
    Reason.ORIENTATION_UNKNOWN: "カードの向きが分かりません",
    Reason.QR_UNREADABLE: "QR コードを読めません。カードの特定は住所・氏名による照合に回します",
    Reason.QR_INTEGRITY: "QR コードの署名が合いません (他の署で印刷したカードか、書き換えられたカードです)",
    Reason.QR_FOREIGN: "QR コードが巡回連絡カードのものではありません",
    Reason.FORM_GUESSED: "様式は QR コードでなく印刷の配置から推定しました",
    Reason.FORM_VERSION: "この版の様式は読めません",
    Reason.MARKERS_INFERRED: "マーカー 1 個が見つからず、残り 3 個から補いました",
    Reason.SKEWED_MARKERS: "マーカーの配置が様式とずれています (用紙の折れ・しわの可能性)",
    Reason.OCR_UNAVAILABLE: "文字認識 (Tesseract) を実行できません",
    Reason.OCR_TIMEOUT: "文字認識 (Tesseract) が時間内に終わらず、手書きの欄は確認待ちにします",
    Reason.INTERNAL_ERROR: "読み取り中に予期しないエラーが起きました",
    Reason.IDENTITY_FROM_PRINTED_ID: "QR が読めないため、印刷IDの文字で照合しました",
    Reason.NOISY_PAGE: "頁の状態が悪いため (汚れ・裏写り・濃さ・マーカー・チェックの数)、読み取った値はすべて確認に回します",
}
# A field's reasons, as the person reviewing the value reads them.
READ_REASONS: dict[Reason, str] = {
    Reason.LOW_CONFIDENCE: "読み取りの確信度が低い",
    Reason.ENGINES_DISAGREE: "二つの文字認識の読みが食い違う (候補を見比べてください)",
    Reason.AMBIGUOUS: "数字がほかの数字とも読める",
    Reason.UNREADABLE: "記入はあるが読み取れない",
    Reason.OCR_TIMEOUT: "文字認識が時間内に終わらなかった",
    Reason.AMBIGUOUS_MARK: "チェックか空欄か判別しにくい",
    Reason.CANCELLED_MARK: "チェックが取り消されている",
    Reason.MULTIPLE_TICKS: "一つだけ選ぶ欄に複数のチェック",
    Reason.GAP_IN_DIGITS: "数字の途中に空欄がある",
    Reason.ERA_MISSING: "元号が選ばれていない",
    Reason.DATE_INCOMPLETE: "年・月・日のどれかが空欄",
    Reason.INK_IN_UNCHANGED_SECTION: "「変更なし」の欄に記入がある",
    Reason.SECTION_UNCHANGED: "「変更なし」の欄",
    Reason.NAME_READING_MISMATCH: "氏名とフリガナが合わない (辞書にない読み方か、読み誤り)",
    Reason.POSTAL_UNKNOWN: "存在しない郵便番号として読めた",
    Reason.POSTAL_ADDRESS_MISMATCH: "郵便番号の地域と住所が合わない",
    Reason.PHONE_INVALID: "使われていない電話番号として読めた",
    Reason.DATE_IMPOSSIBLE: "存在しない日付として読めた",
    Reason.LEXICON_CHOICE: "文字認識の第一候補でなく、辞書や他の欄と合う候補を採った",
    Reason.UNREAD_INK: "記入らしいインクがあるが、文字として読めていない",
    Reason.FAINT_INK: "筆跡が薄い (薄いスキャン・鉛筆・薄いペン) ため、読み取りに自信がない",
}
# Reasons that make a page read as a whole only partial.
PARTIAL_REASONS = frozenset({Reason.QR_UNREADABLE, Reason.QR_INTEGRITY, Reason.FORM_GUESSED,
                             Reason.MARKERS_INFERRED, Reason.SKEWED_MARKERS, Reason.OCR_TIMEOUT,
                             Reason.NOISY_PAGE})


@dataclass(frozen=True)
class Candidate:
    """One reading of a crop by one recogniser, with its confidence (0-1)."""
    text: str
    confidence: float
    engine: str

    def to_json(self) -> dict:
        return dict(text=self.text, confidence=self.confidence, engine=self.engine)

    @classmethod
    def from_json(cls, d: dict) -> Candidate:
        return cls(d["text"], d["confidence"], d["engine"])


@dataclass(frozen=True)
class Identity:
    """Which printed card and sheet a page is: from its verified QR, or from its printed id
    once the store has told which id it is."""
    print_id: str
    premises_id: int | None  # None: a blank card
    card_version: int
    beat: str
    sheet: int
    sheets: int
    form: str
    form_version: int

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dc_fields(self)}

    @classmethod
    def from_json(cls, d: dict) -> Identity:
        return cls(**{f.name: d[f.name] for f in dc_fields(cls)})


@dataclass
class FieldReading:
    id: str
    kind: FieldKind
    section: str
    path: str | None  # the form's card path ("members.{key}.name"): form.model_path maps it
    value: Any  # str, a list of ticked options, a date {era, year, month, day}, or None
    confidence: float
    crop: str | None = None  # the saved image of the field, for the person reviewing it
    reasons: list[Reason] = field(default_factory=list)
    ink: bool = False
    detail: dict | None = None  # per tick box the kind of mark seen (ocr.marks); digit cells and their confidences
    candidates: list[Candidate] = field(default_factory=list)  # what the text recogniser offered

    def __post_init__(self) -> None:
        self.kind = FieldKind(self.kind)
        self.reasons = [Reason(r) for r in self.reasons]

    def to_json(self) -> dict:
        return dict(id=self.id, kind=str(self.kind), section=self.section, path=self.path, value=self.value,
                    confidence=self.confidence, crop=self.crop, reasons=[str(r) for r in self.reasons],
                    ink=self.ink, detail=self.detail, candidates=[c.to_json() for c in self.candidates])

    @classmethod
    def from_json(cls, d: dict) -> FieldReading:
        return cls(d["id"], FieldKind(d["kind"]), d.get("section", ""), d.get("path"), d.get("value"),
                   d.get("confidence", 0.0), d.get("crop"), [Reason(r) for r in d.get("reasons", [])],
                   d.get("ink", False), d.get("detail"),
                   [Candidate.from_json(c) for c in d.get("candidates", [])])


@dataclass
class PageReading:
    source: str
    page: int  # 1-based within its file
    status: PageStatus
    reasons: list[Reason] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # the reasons for a person (Japanese), in order
    identity: Identity | None = None  # from the verified QR, or resolved from a printed id when recorded
    printed_ids: list[str] = field(default_factory=list)  # ids the printed one may be, when the QR was not read
    form: str | None = None
    form_version: int | None = None
    sheet: int | None = None  # 1: the card; 2 and after: continuation sheets
    prefilled: bool | None = None
    rotation: int | None = None  # quarter turns clockwise it was fed with
    dpi: float | None = None
    fields: list[FieldReading] = field(default_factory=list)
    quarantine: str | None = None
    seconds: float = 0.0
    quality: dict | None = None  # the page's measured levels, speckle, marker fit, ticks (ocr.quality)

    def __post_init__(self) -> None:
        self.status = PageStatus(self.status)
        self.reasons = [Reason(r) for r in self.reasons]

    def field(self, field_id: str) -> FieldReading:
        return next(f for f in self.fields if f.id == field_id)

    def get(self, field_id: str) -> FieldReading | None:
        return next((f for f in self.fields if f.id == field_id), None)

    def values(self) -> dict[str, Any]:
        return {f.id: f.value for f in self.fields}

    def note(self, reason: Reason, message: str | None = None) -> None:
        """Add a reason, with its words for a person (its standard ones unless given)."""
        reason = Reason(reason)
        self.reasons.append(reason)
        self.messages.append(message or MESSAGES.get(reason, str(reason)))

    def fail(self, reason: Reason, message: str | None = None) -> None:
        self.status = PageStatus.FAILED
        self.note(reason, message)

    def to_json(self) -> dict:
        """Plain data for json.dumps: the shape of stored rows and of `junkai read --json`."""
        return dict(source=self.source, page=self.page, status=str(self.status), reasons=[str(r) for r in self.reasons],
                    messages=list(self.messages), identity=self.identity.to_json() if self.identity else None,
                    printed_ids=list(self.printed_ids), form=self.form, form_version=self.form_version,
                    sheet=self.sheet, prefilled=self.prefilled, rotation=self.rotation, dpi=self.dpi,
                    fields=[f.to_json() for f in self.fields], quarantine=self.quarantine, seconds=self.seconds,
                    quality=self.quality)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: dict | str) -> PageReading:
        """A reading from its JSON form (a dict, or its text); rows stored before a key existed
        load with its default."""
        d = json.loads(data) if isinstance(data, str) else data
        ident = d.get("identity")
        return cls(d["source"], d["page"], PageStatus(d["status"]), [Reason(r) for r in d.get("reasons", [])],
                   list(d.get("messages", [])), Identity.from_json(ident) if ident else None,
                   list(d.get("printed_ids", [])), d.get("form"), d.get("form_version"), d.get("sheet"),
                   d.get("prefilled"), d.get("rotation"), d.get("dpi"),
                   [FieldReading.from_json(f) for f in d.get("fields", [])], d.get("quarantine"),
                   d.get("seconds", 0.0), d.get("quality"))
