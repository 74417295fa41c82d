"""What a printed card's QR code says, and proof that this station printed it.

The payload is short text in the QR alphanumeric alphabet, so the code stays at
version 3-4 and reads reliably from a 150 dpi scan:

    JKH1:7K3MQ9XDR:1/2:123:5:S01-P01-B1:<tag>
    ||| |          |   |   | |          `- HMAC-SHA256 with the station key, 64 bits, base32
    ||| |          |   |   | `- beat
    ||| |          |   |   `- card version printed from (0 on a blank card)
    ||| |          |   `- premises id (empty on a blank card)
    ||| |          `- sheet / sheets of this card
    ||| `- print id: 8 random characters and a check character
    ||`- form version, then the card's language when not Japanese (JKH2EN: English)
    |`- form type: H household, B business, A apartment building
    `- junkai

The key lives in the data folder (JUNKAI_HOME/print.key, mode 0600), created on
first use; without it nobody can make a code that passes `decode`, and a misread or
edited payload fails too. One key serves every station of a store: the signed beat
names the card's station (through the store), and a station's batch refuses the cards
of another (junkai.ingest).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from junkai import JunkaiError, model

KEY_FILE = "print.key"
PREFIX = "JK"
FORM_CODES = {model.HOUSEHOLD: "H", model.BUSINESS: "B", model.APARTMENT: "A"}
CODE_FORMS = {v: k for k, v in FORM_CODES.items()}
# Crockford's base32: no I, L, O, U, so a person copying an id by hand cannot confuse them.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TAG_BYTES = 8


class IntegrityError(JunkaiError):
    """The payload was not made with this station's key, or was misread."""


@dataclass(frozen=True)
class Payload:
    form: str
    form_version: int
    print_id: str
    page: int
    pages: int
    premises_id: int | None
    card_version: int
    beat: str
    language: str = "ja"  # the form's printed words (junkai.form.lang); the reader masks them

    def body(self) -> str:
        premises = "" if self.premises_id is None else str(self.premises_id)
        lang = "" if self.language == "ja" else self.language.upper()
        return (f"{PREFIX}{FORM_CODES[self.form]}{self.form_version}{lang}:{self.print_id}:{self.page}/{self.pages}:"
                f"{premises}:{self.card_version}:{self.beat}")


# --- the station key -----------------------------------------------------------------


def station_key(home: Path) -> bytes:
    """The key of this data folder, created (0600) on first use."""
    path = Path(home) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it a moment ago
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
    try:
        key = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as exc:
        raise JunkaiError(f"印刷用の鍵ファイルを読めません: {path} ({exc})")
    if len(key) < 16:
        raise JunkaiError(f"印刷用の鍵ファイルが短すぎます: {path}")
    return key


# --- print ids -------------------------------------------------------------------------


ID_LEN = 9  # eight random characters and a check character


def _check_char(body: str) -> str:
    # odd weights: any single wrong character changes the sum modulo 32
    return ALPHABET[sum((2 * i + 1) * ALPHABET.index(c) for i, c in enumerate(body)) % 32]


def new_print_id() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(ID_LEN - 1))
    return body + _check_char(body)


def _plain_id(text: str) -> str:
    """An id as a person typed or a machine read it (lower case, hyphens, O for 0, I or L for 1), upper case."""
    return text.strip().upper().replace("-", "").replace(" ", "").translate(str.maketrans("OIL", "011"))


def _is_id(t: str) -> bool:
    return len(t) == ID_LEN and all(c in ALPHABET for c in t) and _check_char(t[:-1]) == t[-1]


def normalize_print_id(text: str) -> str:
    """An id as a person typed it, checked."""
    t = _plain_id(text)
    if not _is_id(t):
        raise JunkaiError(f"印刷IDが正しくありません (打ち間違いの可能性があります): {text!r}")
    return t


def print_id_candidates(text: str) -> list[str]:
    """The ids a machine reading of a printed id could stand for: the reading itself when its
    check character holds, else every id one edit away (one character wrong, dropped or extra)
    whose check character holds. Each is a handful; the store says which one was printed."""
    t, n = _plain_id(text), ID_LEN
    if any(c not in ALPHABET for c in t):
        return []
    if _is_id(t):
        return [t]
    if len(t) == n:
        near = (t[:i] + c + t[i + 1:] for i in range(n) for c in ALPHABET if c != t[i])
    elif len(t) == n - 1:
        near = (t[:i] + c + t[i:] for i in range(n) for c in ALPHABET)
    elif len(t) == n + 1:
        near = (t[:i] + t[i + 1:] for i in range(n + 1))
    else:
        return []
    return sorted({c for c in near if _is_id(c)})


def show_print_id(print_id: str) -> str:
    return f"{print_id[:4]}-{print_id[4:]}"


# --- payload ---------------------------------------------------------------------------


def _bytes(text: str) -> bytes:
    # what a scanner decodes may hold anything, lone surrogates included; never an exception here
    return text.encode("utf-8", "surrogatepass")


def _tag(key: bytes, body: str) -> str:
    digest = hmac.new(key, _bytes(body), hashlib.sha256).digest()[:TAG_BYTES]
    return base64.b32encode(digest).decode("ascii").rstrip("=")


def encode(p: Payload, key: bytes) -> str:
    body = p.body()
    return f"{body}:{_tag(key, body)}"


def decode(text: str, key: bytes) -> Payload:
    """Parse and verify a payload read from a card; IntegrityError when it is not genuine."""
    text = text.strip()
    head, _, tag = text.rpartition(":")
    if not head.startswith(PREFIX) or not hmac.compare_digest(_tag(key, head).encode("ascii"), _bytes(tag)):
        raise IntegrityError(f"QR コードの内容を確認できません (改ざん・読み誤り・他の署の印刷): {text[:60]!r}")
    fields = head.split(":")
    try:
        form_code = fields[0][len(PREFIX)]
        version_lang = re.fullmatch(r"(\d+)([A-Z]*)", fields[0][len(PREFIX) + 1:])
        if version_lang is None:
            raise ValueError(fields[0])
        version, lang = int(version_lang.group(1)), version_lang.group(2).lower() or "ja"
        print_id, sheet, premises, card_version = fields[1], fields[2], fields[3], int(fields[4])
        beat = ":".join(fields[5:])
        page, pages = (int(x) for x in sheet.split("/"))
        return Payload(CODE_FORMS[form_code], version, print_id, page, pages,
                       int(premises) if premises else None, card_version, beat, lang)
    except (IndexError, ValueError, KeyError):
        raise IntegrityError(f"QR コードの形式が正しくありません: {text[:60]!r}")


def matrix(text: str) -> list[list[bool]]:
    """The modules of the QR code for a payload, dark = True, without the quiet zone."""
    import segno

    # a fixed mask: choosing the best of eight costs 6 ms a code, and any mask decodes
    code = segno.make_qr(text, error="m", boost_error=False, mask=2)
    return [[bool(v) for v in row] for row in code.matrix]
