"""Turn a stored original into pages: an image to OCR, or the lines of a PDF's own text layer.

Pages are produced one at a time so a 500-page PDF never sits in memory as 500 bitmaps.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import pdfplumber
import pypdfium2 as pdfium
from PIL import Image, ImageOps, ImageSequence

from sohoa.config import Limits
from sohoa.models import FileKind, OcrLine, OcrWord

from .errors import IngestError

# A PDF page counts as born-digital when its text layer has at least this many letters/digits.
MIN_TEXT_LAYER_CHARS = 40


@dataclass
class RawPage:
    number: int  # 1-based
    image: Image.Image | None  # RGB, colour kept: clean-up works on copies
    dpi: float
    text_lines: list[OcrLine] | None = None  # set when the PDF carries a real text layer
    text_layer_engine: str | None = None


def _check_pixels(width: int, height: int, limits: Limits, where: str) -> None:
    if width * height > limits.max_pixels_per_page:
        raise IngestError(
            "too_many_pixels",
            f"{where} is {width}x{height} pixels; the limit is {limits.max_pixels_per_page} pixels a page "
            "(decompression-bomb guard)",
        )


def count_pages(data: bytes, kind: FileKind) -> int:
    if kind is FileKind.pdf:
        with _open_pdf(data) as pdf:
            return len(pdf)
    if kind is FileKind.tiff:
        with _open_image(data) as im:
            return getattr(im, "n_frames", 1)
    return 1


class _open_pdf:
    def __init__(self, data: bytes):
        try:
            self.pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            msg = str(exc)
            if "password" in msg.lower():
                raise IngestError("encrypted_pdf", "the PDF is password-protected; send it unencrypted") from exc
            raise IngestError("corrupt_file", f"the PDF cannot be opened: {msg}") from exc

    def __enter__(self) -> pdfium.PdfDocument:
        return self.pdf

    def __exit__(self, *exc) -> None:
        self.pdf.close()


def _open_image(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise IngestError("too_many_pixels", "the image declares more pixels than any scan can have "
                          "(decompression-bomb guard)") from None
    except Exception as exc:  # Pillow raises many types for damaged files
        raise IngestError("corrupt_file", f"the image cannot be read: {exc}") from exc
    return im


def _text_layer(plumber: pdfplumber.PDF | None, index: int, scale: float) -> tuple[list[OcrLine], str] | None:
    """Lines of the page's own text layer, in pixel coordinates of the rendering, or None."""
    if plumber is None:
        return None
    raw = plumber.pages[index].extract_text_lines(return_chars=False, strip=True)
    letters = sum(ch.isalnum() for line in raw for ch in line["text"])
    if letters < MIN_TEXT_LAYER_CHARS:
        return None
    lines: list[OcrLine] = []
    for line in raw:
        box = tuple(int(round(v * scale)) for v in (line["x0"], line["top"], line["x1"], line["bottom"]))
        lines.append(OcrLine(text=line["text"], bbox=box, confidence=1.0,
                             words=[OcrWord(text=line["text"], bbox=box, confidence=1.0)]))
    return lines, f"pdfplumber {pdfplumber.__version__}"


def iter_pages(data: bytes, kind: FileKind, limits: Limits, dpi: int = 300, only: int | None = None) -> Iterator[RawPage]:
    """Yield the pages of one file (or only page `only`, 1-based: a long file's pages are read by
    many workers). Raises IngestError when the file as a whole is unusable."""
    if kind is FileKind.pdf:
        yield from _pdf_pages(data, limits, dpi, only)
    elif kind in (FileKind.tiff, FileKind.png, FileKind.jpeg):
        yield from (p for p in _image_pages(data, limits) if only is None or p.number == only)
    else:
        raise IngestError("unsupported_type", f"{kind} files hold no pages")


def _open_plumber(data: bytes) -> pdfplumber.PDF | None:
    try:
        return pdfplumber.open(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - no usable text layer; the pages are OCR'd
        return None


def _pdf_pages(data: bytes, limits: Limits, dpi: int, only: int | None = None) -> Iterator[RawPage]:
    with _open_pdf(data) as pdf:
        plumber = _open_plumber(data)
        n = len(pdf)
        if n == 0:
            raise IngestError("empty_document", "the PDF has no pages")
        if n > limits.max_pages:
            raise IngestError("too_many_pages", f"the PDF has {n} pages; the limit is {limits.max_pages}")
        scale = dpi / 72.0
        for i in range(n) if only is None else [only - 1]:
            page = pdf[i]
            w_pt, h_pt = page.get_size()
            _check_pixels(int(w_pt * scale), int(h_pt * scale), limits, f"page {i + 1} at {dpi} dpi")
            try:
                image = page.render(scale=scale).to_pil().convert("RGB")
            except pdfium.PdfiumError as exc:
                raise IngestError("corrupt_file", f"page {i + 1} of the PDF cannot be rendered: {exc}") from exc
            finally:
                page.close()
            try:
                layer = _text_layer(plumber, i, scale)
            except Exception:  # noqa: BLE001 - a damaged text layer only means the page is OCR'd instead
                layer = None
            lines, engine = layer if layer else (None, None)
            yield RawPage(number=i + 1, image=image, dpi=dpi, text_lines=lines, text_layer_engine=engine)
        if plumber is not None:
            plumber.close()


def _image_pages(data: bytes, limits: Limits) -> Iterator[RawPage]:
    im = _open_image(data)
    n = getattr(im, "n_frames", 1)
    if n > limits.max_pages:
        raise IngestError("too_many_pages", f"the image has {n} frames; the limit is {limits.max_pages}")
    for i, frame in enumerate(ImageSequence.Iterator(im)):
        _check_pixels(frame.width, frame.height, limits, f"page {i + 1}")
        try:
            frame.load()
            # EXIF orientation is a hint that phones set; the OCR stage still checks the text's own orientation.
            rgb = ImageOps.exif_transpose(frame).convert("RGB")
        except Exception as exc:
            raise IngestError("corrupt_file", f"page {i + 1} of the image cannot be decoded: {exc}") from exc
        dpi = float((frame.info.get("dpi") or (0, 0))[0] or 0) or 300.0
        yield RawPage(number=i + 1, image=rgb, dpi=dpi)
