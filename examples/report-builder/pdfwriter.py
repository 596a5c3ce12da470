"""Just enough of PDF 1.4 to write a report without a PDF library: pages, text, shapes, attachments.

A page is a list of content-stream operators. ``document`` numbers the objects, writes them
uncompressed (so the text can be searched for in the file itself) and ends the file with the
cross-reference table of byte offsets and the trailer that readers start from.
"""

from __future__ import annotations

from dataclasses import dataclass

PAGE_WIDTH = 595  # A4, in points
PAGE_HEIGHT = 842
FONTS = {"F1": "Helvetica", "F2": "Helvetica-Bold"}


@dataclass(frozen=True)
class Attachment:
    """A file carried inside the PDF, listed in a reader's attachments panel."""

    name: str
    content: bytes
    mime: str
    description: str


def literal(text: str) -> str:
    """``text`` as a PDF string in the fonts' WinAnsi encoding; what it cannot hold becomes '?'."""
    out = []
    for byte in text.encode("cp1252", errors="replace"):
        char = chr(byte)
        if char in "\\()":
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return "(" + "".join(out) + ")"


def text_string(text: str) -> str:
    """``text`` as a PDF text string (UTF-16 with a byte order mark), for the document info."""
    return "<" + ("\ufeff" + text).encode("utf-16-be").hex().upper() + ">"


def text(x: float, y: float, words: str, size: float, bold: bool = False) -> str:
    """Operators showing ``words`` with its baseline starting at (x, y)."""
    return f"BT /{'F2' if bold else 'F1'} {size:g} Tf {x:g} {y:g} Td {literal(words)} Tj ET"


def rectangle(x: float, y: float, width: float, height: float, rgb: tuple[float, ...]) -> str:
    """Operators filling a rectangle whose lower-left corner is (x, y)."""
    colour = " ".join(f"{c:g}" for c in rgb)
    return f"{colour} rg {x:g} {y:g} {width:g} {height:g} re f 0 g"


def line(x1: float, y1: float, x2: float, y2: float, grey: float = 0.2) -> str:
    return f"{grey:g} G 0.75 w {x1:g} {y1:g} m {x2:g} {y2:g} l S"


def stream(dictionary: str, data: bytes) -> bytes:
    head = f"<< {dictionary} /Length {len(data)} >>\nstream\n".encode()
    return head + data + b"\nendstream"


def document(pages: list[list[str]], title: str, attachments: list[Attachment]) -> bytes:
    """The bytes of a PDF 1.4 file with ``pages``, titled ``title``, carrying ``attachments``."""
    fonts = {
        name: f"<< /Type /Font /Subtype /Type1 /BaseFont /{base} /Encoding /WinAnsiEncoding >>"
        for name, base in FONTS.items()
    }
    first_font = 4
    first_attachment = first_font + len(fonts)
    first_page = first_attachment + 2 * len(attachments)
    page_refs = [f"{first_page + 2 * i} 0 R" for i in range(len(pages))]
    names = " ".join(
        f"{literal(a.name)} {first_attachment + 2 * i + 1} 0 R" for i, a in enumerate(attachments)
    )
    catalog = "<< /Type /Catalog /Pages 2 0 R"
    catalog += f" /Names << /EmbeddedFiles << /Names [{names}] >> >> >>" if attachments else " >>"
    font_refs = " ".join(f"/{name} {first_font + i} 0 R" for i, name in enumerate(fonts))
    objects: list[bytes] = [
        catalog.encode(),
        f"<< /Type /Pages /Kids [{' '.join(page_refs)}] /Count {len(pages)} >>".encode(),
        f"<< /Title {text_string(title)} /Producer (Mark-1 report-builder) >>".encode(),
        *(font.encode() for font in fonts.values()),
    ]
    for i, attachment in enumerate(attachments):
        mime = attachment.mime.replace("/", "#2F").replace("+", "#2B")
        size = len(attachment.content)
        objects.append(
            stream(
                f"/Type /EmbeddedFile /Subtype /{mime} /Params << /Size {size} >>",
                attachment.content,
            )
        )
        objects.append(
            f"<< /Type /Filespec /F {literal(attachment.name)} /Desc {literal(attachment.description)}"
            f" /EF << /F {first_attachment + 2 * i} 0 R >> >>".encode()
        )
    for i, operators in enumerate(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}]"
            f" /Resources << /Font << {font_refs} >> >> /Contents {first_page + 2 * i + 1} 0 R >>".encode()
        )
        objects.append(stream("", "\n".join(operators).encode("ascii")))
    return serialise(objects)


def serialise(objects: list[bytes]) -> bytes:
    """Objects numbered from 1, then the cross-reference table and trailer that index them."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 3 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
