"""A searchable PDF: each original page image at 100 % with an invisible OCR text layer.

Aimed at PDF/A-2b: fonts embedded, sRGB output intent, XMP with the PDF/A identification,
document ID, no encryption or transparency. No PDF/A-2 validator is installable here
(veraPDF is in none of the registries reached), so `tests/test_ocr_outputs.py` checks those
requirements one by one, and runs Apache PDFBox Preflight (PDF/A-1b, from Debian) when present.
"""

from __future__ import annotations

import base64
import functools
import io
import struct
from pathlib import Path
from xml.sax.saxutils import escape

import pikepdf
from PIL import Image, ImageCms
from reportlab import rl_config
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from sohoa.models import PageText

from .alto import clean_text, line_words, local_affine, map_point

# Liberation Serif has every precomposed Vietnamese letter; DejaVu Sans covers far more
# scripts and symbols, so a word Liberation cannot show whole falls back to it.
FONT_FILES = (
    ("SohoaOcrSerif", Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")),
    ("SohoaOcrSans", Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")),
)
JPEG_QUALITY = 90
PRODUCER = "sohoa searchable_pdf"
SRGB_NAME = "sRGB IEC61966-2.1"


@functools.cache
def _fonts() -> tuple[TTFont, ...]:
    fonts = []
    for name, path in FONT_FILES:
        if path.exists():
            font = TTFont(name, str(path))
            pdfmetrics.registerFont(font)
            fonts.append(font)
    if not fonts:
        raise RuntimeError(f"no font for the text layer: install one of {[str(p) for _, p in FONT_FILES]}")
    return tuple(fonts)


def _font_for(text: str) -> tuple[TTFont, str]:
    """A font with a glyph for every character, and the text it can show.

    PDF/A forbids showing .notdef, so characters no font has become U+FFFD (or "?").
    """
    fonts = _fonts()
    for font in fonts:
        if all(ord(ch) in font.face.charToGlyph for ch in text):
            return font, text
    font = fonts[-1]
    glyphs = font.face.charToGlyph
    missing = "\ufffd" if 0xFFFD in glyphs else "?"
    return font, "".join(ch if ord(ch) in glyphs else missing for ch in text)


def encode_jpeg(image: Image.Image) -> bytes:
    """Baseline JPEG, greyscale or RGB; alpha is flattened on white (PDF/A: no transparency)."""
    if image.mode in ("1", "L"):
        image = image.convert("L")
    else:
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            image = Image.new("RGB", rgba.size, "white")
            image.paste(rgba, mask=rgba.getchannel("A"))
        image = image.convert("RGB")  # CMYK would need a CMYK output intent
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def _as_jpeg(image: Image.Image | bytes) -> tuple[bytes, tuple[int, int]]:
    if isinstance(image, bytes):
        with Image.open(io.BytesIO(image)) as im:
            if im.format == "JPEG" and im.mode in ("RGB", "L"):
                return image, im.size
            return encode_jpeg(im), im.size
    return encode_jpeg(image), image.size


def _text_layer(canvas: Canvas, page: PageText, dpi: float, page_height_pt: float) -> None:
    """Each word in text render mode 3, stretched over its box, following the cleaned->original map.

    Words are laid out on the cleaned page (upright, lines horizontal) and the whole
    cleaned->original->PDF map goes into each word's text matrix, so a page that was
    turned or deskewed gets text running along its real lines, not an axis-aligned box.
    """
    k = 72.0 / dpi
    matrix = page.to_original
    text = canvas.beginText()
    text.setTextRenderMode(3)
    for line in page.lines:
        words = line_words(line)
        size = max(line.bbox[3] - line.bbox[1], 1)  # cleaned-page pixels; the matrix scales it
        for i, (word, box, _) in enumerate(words):
            font, shown = _font_for(word + (" " if i < len(words) - 1 else ""))
            natural = pdfmetrics.stringWidth(shown.rstrip(" "), font.fontName, size)
            if natural <= 0:
                continue
            # Descenders reach the line's bottom edge; the trailing space lets text
            # extraction see the word break without guessing from gaps.
            x, y = box[0], line.bbox[3] + font.face.descent / 1000 * size
            ox, oy = map_point(x, y, matrix)
            a, b, d, e = local_affine(x, y, matrix)
            text.setTextTransform(k * a, -k * d, -k * b, k * e, k * ox, page_height_pt - k * oy)
            text.setFont(font.fontName, size)
            text.setHorizScale(100.0 * max(box[2] - box[0], 1) / natural)
            text.textOut(shown)
    canvas.drawText(text)


def _xmp(title: str) -> str:
    """XMP with one rdf:Description per schema, namespaces declared on it.

    pikepdf's own writer declares them on each property instead, which PDFBox's XMP
    parser (used by its PDF/A validator) does not recognise.
    """
    dc_title = (
        f"""
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li></rdf:Alt></dc:title>
  </rdf:Description>"""
        if title
        else ""
    )
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdf:Producer>{escape(PRODUCER)}</pdf:Producer>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <xmp:CreatorTool>{escape(PRODUCER)}</xmp:CreatorTool>
  </rdf:Description>{dc_title}
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


@functools.cache
def _srgb_profile() -> bytes:
    """LittleCMS's sRGB profile with a fixed creation date: its header carries the time it was made,
    which made two PDFs of the same page differ when made a second apart (a flaky test found it).
    The profile ID is cleared with it (zero means "not computed", which the ICC spec allows), as it
    would no longer match."""
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[24:36] = struct.pack(">6H", 2000, 1, 1, 0, 0, 0)  # dateTimeNumber
    icc[84:100] = bytes(16)  # profile ID
    return bytes(icc)


def _to_pdfa(raw: bytes, title: str) -> bytes:
    """Adds what PDF/A-2b needs and reportlab does not write: XMP, output intent, clean Info."""
    title = clean_text(title)
    icc = _srgb_profile()
    with pikepdf.open(io.BytesIO(raw)) as pdf:
        profile = pdf.make_stream(icc)
        profile.N = 3
        intent = pikepdf.Dictionary(
            Type=pikepdf.Name.OutputIntent,
            S=pikepdf.Name.GTS_PDFA1,
            OutputConditionIdentifier=pikepdf.String(SRGB_NAME),
            Info=pikepdf.String(SRGB_NAME),
            DestOutputProfile=profile,
        )
        pdf.Root.OutputIntents = pikepdf.Array([pdf.make_indirect(intent)])
        # reportlab's Info holds placeholders ("anonymous", "unspecified") and a Trapped
        # key; PDF/A wants every Info entry mirrored in XMP, so both are written afresh.
        info = pikepdf.Dictionary(Producer=pikepdf.String(PRODUCER), Creator=pikepdf.String(PRODUCER))
        if title:
            info.Title = pikepdf.String(title)
        pdf.trailer.Info = pdf.make_indirect(info)
        pdf.Root.Metadata = pdf.make_stream(
            _xmp(title).encode("utf-8"), Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML)
        _drop_ascii85(pdf)
        out = io.BytesIO()
        # The ID is a hash of the content, so the same input gives the same bytes.
        pdf.save(out, min_version="1.7", deterministic_id=True, fix_metadata_version=False)
        return out.getvalue()


def _drop_ascii85(pdf: pikepdf.Pdf) -> None:
    """reportlab wraps its streams in ASCII85 over Flate or DCT (a quarter bigger): unwrap them."""
    for obj in pdf.objects:
        filters = obj.get("/Filter") if isinstance(obj, pikepdf.Stream) else None
        if isinstance(filters, pikepdf.Array) and len(filters) == 2 and filters[0] == pikepdf.Name.ASCII85Decode:
            obj.write(base64.a85decode(obj.read_raw_bytes(), adobe=True), filter=filters[1])
        elif isinstance(filters, pikepdf.Array) and len(filters) == 1:
            obj.Filter = filters[0]  # a one-filter array is legal but unusual; validators prefer a name


def make_searchable_pdf(pages: list[tuple[Image.Image | bytes, PageText, float]], title: str = "") -> bytes:
    """One PDF page per (original colour image, its text, dpi), each exactly the image at 100 %.

    An image given as JPEG bytes (RGB or greyscale) is embedded as it is, without a second
    lossy encoding.
    """
    if not pages:
        raise ValueError("a PDF needs at least one page")
    fonts = _fonts()
    # reportlab ASCII85-wraps binary streams in pure Python (a second per A4 JPEG) by default;
    # the switch is global, so it is put back for other reportlab users in the process.
    saved, rl_config.useA85 = rl_config.useA85, 0
    try:
        buf = io.BytesIO()
        # A TrueType initial font keeps reportlab from referencing non-embedded Helvetica.
        canvas = Canvas(buf, invariant=1, initialFontName=fonts[0].fontName, lang="vi")
        for image, page, dpi in pages:
            jpeg, (width, height) = _as_jpeg(image)
            w_pt, h_pt = width * 72.0 / dpi, height * 72.0 / dpi
            canvas.setPageSize((w_pt, h_pt))
            # Handing reportlab JPEG bytes makes it embed them as they are (DCTDecode).
            canvas.drawImage(ImageReader(io.BytesIO(jpeg)), 0, 0, width=w_pt, height=h_pt)
            _text_layer(canvas, page, dpi, h_pt)
            canvas.showPage()
        data = canvas.getpdfdata()
    finally:
        rl_config.useA85 = saved
    return _to_pdfa(data, title)

