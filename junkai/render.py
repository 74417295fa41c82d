"""The one door to WeasyPrint: jinja2 templates in templates/ -> HTML/CSS -> PDF objects.

WeasyPrint lays out a page in about a second on this hardware, far too slow to lay out
every card. So a batch renders each form page it needs once (one per card type, sheet
and variant) plus its cover sheet, in one document. Instead of letting WeasyPrint
serialise that document, we take its finished object graph (the `finisher` hook hands
us the pydyf objects) and give it to junkai.pdf's streaming writer: the form pages
become Form XObjects that every card page draws under its own stamped values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from junkai import form as form_mod
from junkai.pdf import Writer

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
BAND = "#FBE6DF"
CHANGE = "#DE8468"  # 変更なし / 変更あり: a stronger shade of the dropout colour, still red-channel light


class _Captured(Exception):
    def __init__(self, pdf):
        self.pdf = pdf


@dataclass
class Rendered:
    """WeasyPrint's objects for one batch, numbered 1..next_number-1, not yet written."""
    objects: list
    forms: list[int]  # per form page: the number of its content stream (made a Form XObject)
    form_boxes: list[list[float]]
    form_resources: list[bytes]
    cover_pages: list[int]  # numbers of the cover's page dictionaries, in order
    skip: set[int] = field(default_factory=set)  # WeasyPrint's own catalog, page tree and form pages

    @property
    def next_number(self) -> int:
        return len(self.objects)

    def write_into(self, writer: Writer) -> None:
        """Write every object; form contents become XObjects, cover pages join the writer's tree."""
        for number, mediabox, resources in zip(self.forms, self.form_boxes, self.form_resources):
            stream = self.objects[number]
            stream.extra.update({"Type": "/XObject", "Subtype": "/Form", "BBox": _array(mediabox),
                                 "Resources": resources})
        for number in self.cover_pages:
            self.objects[number]["Parent"] = b"%d 0 R" % writer.pages_number
        for obj in self.objects[1:]:
            if obj.number not in self.skip:
                writer.object(obj.number, obj.data)
        for number in self.cover_pages:
            writer.add_page_ref(number)


def _array(values):
    import pydyf

    return pydyf.Array(values)


def _ref(value) -> int:
    return int(bytes(value).split()[0])


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=False)
    env.filters["mm"] = lambda v: f"{v:.3f}".rstrip("0").rstrip(".")
    env.filters["place"] = lambda b: (f"left:{b.x:.3f}mm;top:{b.y:.3f}mm;width:{b.w:.3f}mm;height:{b.h:.3f}mm")
    env.globals["guides"] = _guides
    env.globals["size"] = _size
    return env


def document(template_name: str, context: dict) -> bytes:
    """A list or report laid out by WeasyPrint in one go (few pages, unlike a card batch)."""
    import weasyprint

    html_text = _environment().get_template(template_name).render(**context)
    return weasyprint.HTML(string=html_text, base_url=str(TEMPLATES)).write_pdf()


def _guides(f: form_mod.Field, page: form_mod.Page | None = None) -> list[float]:
    """Writing lines of a free-text box, as far apart as its layout says (version 1: 7 mm),
    the last one clear of the frame."""
    pitch = page.guide_mm if page is not None else 7.0
    lines, y = [], f.entry.y + pitch
    while y < f.entry.bottom - 2.0:
        lines.append(y)
        y += pitch
    return lines


def _size(page: form_mod.Page, style: str, line_mm: float | None = None) -> str:
    """Inline print size of a layout larger than version 1 (the stylesheet holds version 1's)."""
    pt = page.text_pt.get(style)
    if pt is None:
        return ""
    return f";font-size:{pt}pt" + (f";line-height:{line_mm:.3f}mm" if line_mm else "")


def html(forms: list[tuple], cover: dict | None, title: str) -> str:
    """`forms`: (page, variant) or (page, variant, language) for each form page."""
    forms = [(f[0], f[1], f[2] if len(f) > 2 else "ja") for f in forms]
    return _environment().get_template("batch.html.j2").render(
        forms=forms, cover=cover, title=title, dropout=form_mod.DROPOUT, tint=form_mod.TINT, band=BAND,
        change=CHANGE, strip=form_mod.STRIP)


def render(forms: list[tuple], cover: dict | None, title: str = "巡回連絡カード") -> Rendered:
    """Lay out the cover and the form pages (one sheet each); return the objects, unwritten."""
    import weasyprint

    doc = weasyprint.HTML(string=html(forms, cover, title), base_url=str(TEMPLATES)).render(
        stylesheets=[weasyprint.CSS(filename=str(TEMPLATES / "card.css")),
                     weasyprint.CSS(filename=str(TEMPLATES / "cover.css"))])

    def finisher(_document, pdf):
        raise _Captured(pdf)  # our writer serialises; WeasyPrint need not

    try:
        doc.write_pdf(finisher=finisher)
    except _Captured as captured:
        pdf = captured.pdf
    else:  # pragma: no cover - a WeasyPrint that ignores finishers
        raise RuntimeError("WeasyPrint did not call the finisher")
    kids = [pdf.pages["Kids"][i] for i in range(0, len(pdf.pages["Kids"]), 3)]
    if len(kids) < len(forms) + (1 if cover else 0) or (not cover and len(kids) != len(forms)):
        raise RuntimeError(f"expected {len(forms)} form pages and a cover, got {len(kids)} pages")
    # the cover comes first so that its page counter starts at 1; each form is exactly one sheet
    cover_pages, form_pages = kids[:len(kids) - len(forms)], kids[len(kids) - len(forms):]
    contents, boxes, resources = [], [], []
    for number in form_pages:
        page = pdf.objects[number]
        contents.append(_ref(page["Contents"]))
        boxes.append(list(page["MediaBox"]))
        resources.append(page["Resources"])
    skip = {pdf.catalog.number, pdf.pages.number, *form_pages}
    return Rendered(pdf.objects, contents, boxes, resources, list(cover_pages), skip)
