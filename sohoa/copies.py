"""Digitised copies ("bản sao điện tử", form "SAO Y") of paper documents, per Decree 30/2020/NĐ-CP.

A copy is a PDF whose pages are the scans at 100 % scale (page size = pixels / dpi), colour,
at least 200 dpi, with the copy's details — "SAO Y", the copying agency, the signing time in
ISO 8601 with +07:00 — at the top right of the first page in Times New Roman (or the
metric-compatible Liberation Serif) 10 pt black, signed by the agency (PAdES) with no visible
signature image. See docs/copies.md for what the decree asks and how each point is met.
"""

from __future__ import annotations

import functools
import io
import json
import math
import re
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from PIL import Image
from pydantic import Field
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from reportlab import rl_config
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from ingest.pages import RawPage, iter_pages
from ingest.sniff import sniff
from storage.objects import ObjectNotFound, check_digest, original_key, result_key

from . import __version__, chain
from .config import Settings
from .models import FileKind, Model
from .provenance import VN_TZ, now_vn

FORM = "SAO Y"
FIELD_NAME = "SaoY"
# The decree names Times New Roman; where it is not installed (Debian ships no Microsoft fonts),
# Liberation Serif has the same metrics, so the stamp takes the same room.
FONT_FILES = (
    Path("/usr/share/fonts/truetype/msttcorefonts/Times_New_Roman.ttf"),
    Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf"),
)
FONT_SIZE = 10
LEADING = 12
MARGIN = 10 * mm
# PDF renderings are re-encoded; 4:4:4 keeps red seals and signatures from bleeding (4:2:0 halves colour).
RENDER_JPEG_QUALITY = 90
RENDER_DPI = 300


class CopyValidation(Model):
    valid: bool  # every check passed: intact, cryptographically sound, trusted, not modified since
    intact: bool  # the signed bytes are those that were signed
    trusted: bool  # the signer's certificate chains to one of the given roots
    signer: str | None = None
    signed_at: datetime | None = None  # as the signer claims it (/M): no timestamp authority vouches for it
    problems: list[str] = Field(default_factory=list)


class IssuedCopy(Model):
    key: str
    sha256: str
    pages: list[int]
    dpi: list[float]
    agency: str
    signed_at: datetime


# ============================================================================ the PDF
@functools.cache
def _font() -> TTFont:
    for path in FONT_FILES:
        if path.exists():
            font = TTFont("SohoaCopySerif", str(path))
            pdfmetrics.registerFont(font)
            return font
    raise RuntimeError(f"no Times New Roman or Liberation Serif for the copy's stamp: install fonts-liberation2 "
                       f"(looked for {', '.join(map(str, FONT_FILES))})")


def iso_vn(moment: datetime) -> str:
    """ISO 8601 to the second in Vietnam's time zone, as the decree asks: 2026-11-26T14:03:22+07:00."""
    if moment.tzinfo is None:
        raise ValueError("the signing time needs a time zone (a naive time is ambiguous)")
    return moment.astimezone(VN_TZ).isoformat(timespec="seconds")


def stamp_lines(agency: str, signed_at: datetime) -> list[str]:
    return [FORM, agency, f"Thời gian ký: {iso_vn(signed_at)}"]


def _wrap(text: str, font: str, width: float) -> list[str]:
    """Words of `text` in lines no wider than `width` (a word wider than that stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and pdfmetrics.stringWidth(f"{lines[-1]} {word}", font, FONT_SIZE) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def _draw_stamp(canvas: Canvas, lines: list[str], page_w: float, page_h: float) -> None:
    font = _font()
    # A long agency name on a card-sized scan would run off the left edge: wrap it instead.
    wrapped = [part for line in lines for part in _wrap(line, font.fontName, page_w - 2 * MARGIN)]
    # The first line's tops of letters, not its baseline, sit one margin below the top edge.
    y = page_h - MARGIN - font.face.ascent / 1000 * FONT_SIZE
    canvas.setFont(font.fontName, FONT_SIZE)
    canvas.setFillColorRGB(0, 0, 0)
    for line in wrapped:
        canvas.drawRightString(page_w - MARGIN, y, line)
        y -= LEADING


def _image_for_pdf(data: bytes, number: int) -> tuple[ImageReader, int, int]:
    """reportlab's image for one page and its pixel size. JPEG bytes go in untouched (reportlab
    embeds them as DCT), so the scan is not compressed a second time; other images are
    embedded losslessly, transparency flattened onto white (paper has none)."""
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except Exception as exc:  # Pillow raises many types for damaged images
        raise ValueError(f"page {number}: the image cannot be read ({exc})") from exc
    if im.format == "JPEG" and im.mode in ("RGB", "L"):
        return ImageReader(io.BytesIO(data)), im.width, im.height
    if im.format not in ("JPEG", "PNG"):
        raise ValueError(f"page {number}: a {im.format} image; give JPEG or PNG bytes")
    if im.mode in ("RGBA", "LA", "P", "PA") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        im = flat
    elif im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    return ImageReader(im), im.width, im.height


def nominal_dpi(dpi: float) -> float:
    """PNG stores pixels per metre, so a 200-dpi scan reads back as 199.9996 dpi: to 0.1 dpi,
    the scanner's setting comes back (one pixel per metre is 0.0254 dpi)."""
    return round(dpi, 1)


def check_dpi(dpi: float, number: int, min_dpi: int) -> None:
    if not math.isfinite(dpi) or nominal_dpi(dpi) < min_dpi:
        raise ValueError(f"page {number} is {nominal_dpi(dpi):g} dpi; a digitised copy needs at least {min_dpi} dpi "
                         "(Decree 30/2020/NĐ-CP): rescan it, a copy never upsamples a scan")


def make_copy(pages: list[tuple[bytes, float]], agency: str, signed_at: datetime, min_dpi: int = 200) -> bytes:
    """An unsigned copy: one page per (JPEG or PNG bytes, dpi), each page exactly the scan at
    100 % (width = pixels / dpi inches), the copy's details at the top right of page 1.
    Images are embedded as given: EXIF orientation is not applied, so pass upright scans."""
    if not pages:
        raise ValueError("a copy needs at least one page")
    for number, (_, dpi) in enumerate(pages, start=1):
        check_dpi(dpi, number, min_dpi)
    font = _font()
    lines = stamp_lines(agency, signed_at)
    # reportlab ASCII85-wraps binary streams by default (a quarter bigger); the switch is global,
    # so it is put back for other reportlab users in the process.
    saved, rl_config.useA85 = rl_config.useA85, 0
    try:
        buf = io.BytesIO()
        # 1.7: the PAdES signature adds ETSI's extension, declared on top of PDF 1.7. A TrueType
        # initial font keeps reportlab from referencing a non-embedded Helvetica.
        canvas = Canvas(buf, pdfVersion=(1, 7), invariant=1, initialFontName=font.fontName, lang="vi")
        canvas.setTitle(f"{FORM}: {agency}")
        canvas.setAuthor(agency)
        canvas.setCreator(f"sohoa {__version__}")
        for number, (data, dpi) in enumerate(pages, start=1):
            image, width, height = _image_for_pdf(data, number)
            w_pt, h_pt = width * 72.0 / dpi, height * 72.0 / dpi
            canvas.setPageSize((w_pt, h_pt))
            canvas.drawImage(image, 0, 0, width=w_pt, height=h_pt)
            if number == 1:
                _draw_stamp(canvas, lines, w_pt, h_pt)
            canvas.showPage()
        return canvas.getpdfdata()
    finally:
        rl_config.useA85 = saved


# ============================================================================ signing
class _SignerAt(signers.PdfSigner):
    """pyHanko's signer, with the signing time (/M) set to the time printed on the page rather
    than the moment the bytes happen to be signed, so the two can never disagree."""

    def __init__(self, *args, signed_at: datetime, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self._signed_at = signed_at

    def init_signing_session(self, pdf_out, existing_fields_only=False):  # noqa: ANN001, ANN201
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._signed_at
        return session


def load_signer(p12_path: Path, password: bytes) -> signers.SimpleSigner:
    if not p12_path.is_file():
        raise FileNotFoundError(f"no agency certificate at {p12_path}: run `sohoa certs init-dev` (development) "
                                "or set SOHOA_COPIES__PKCS12_PATH to the agency's PKCS#12")
    signer = signers.SimpleSigner.load_pkcs12(str(p12_path), passphrase=password or None)
    if signer is None:  # pyHanko logs the cause and returns None
        raise ValueError(f"cannot load the agency key from {p12_path}: wrong password, or not a PKCS#12 file")
    return signer


def sign_copy(pdf: bytes, p12_path: Path, password: bytes, signed_at: datetime, agency: str) -> bytes:
    """The copy signed by the agency: PAdES baseline B (ETSI.CAdES.detached, SHA-256), in an
    invisible signature field (a zero-size rectangle: the decree wants no signature image)."""
    if signed_at.tzinfo is None:
        raise ValueError("the signing time needs a time zone")
    signer = load_signer(p12_path, password)
    meta = signers.PdfSignatureMetadata(field_name=FIELD_NAME, subfilter=fields.SigSeedSubFilter.PADES,
                                        md_algorithm="sha256", reason=FORM, name=agency)
    pdf_signer = _SignerAt(meta, signer, new_field_spec=fields.SigFieldSpec(FIELD_NAME),
                           signed_at=signed_at.astimezone(VN_TZ))
    return pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf))).getvalue()


# ============================================================================ validation
def load_certificates(data: bytes) -> list[asn1_x509.Certificate]:
    """Certificates from PEM (one or a bundle) or DER bytes."""
    if pem.detect(data):
        return [asn1_x509.Certificate.load(der) for kind, _, der in pem.unarmor(data, multiple=True)
                if kind == "CERTIFICATE"]
    return [asn1_x509.Certificate.load(data)]


def _common_name(cert: asn1_x509.Certificate) -> str:
    native = cert.subject.native
    return native.get("common_name") or native.get("organization_name") or cert.subject.human_friendly


def validate_copy(pdf: bytes, trust_roots: list[bytes]) -> CopyValidation:
    """Check a copy's signature offline against the given CA certificates (PEM or DER).

    Nothing is fetched: revocation is not checked (soft-fail with no revocation data), because
    the development CA publishes none and a desk may be offline; docs/copies.md says how a
    deployment adds it."""
    roots = [c for data in trust_roots for c in load_certificates(data)]
    try:
        sigs = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    except Exception as exc:  # noqa: BLE001 - a damaged file is an answer, not a crash
        return CopyValidation(valid=False, intact=False, trusted=False, problems=[f"not a readable PDF: {exc}"])
    if not sigs:
        return CopyValidation(valid=False, intact=False, trusted=False, problems=["the PDF carries no signature"])
    results = [_validate_one(sig, roots) for sig in sigs]
    first = results[0]
    return CopyValidation(valid=all(r.valid for r in results), intact=all(r.intact for r in results),
                          trusted=all(r.trusted for r in results), signer=first.signer,
                          signed_at=first.signed_at, problems=[p for r in results for p in r.problems])


def _validate_one(sig, roots: list[asn1_x509.Certificate]) -> CopyValidation:  # noqa: ANN001 - EmbeddedPdfSignature
    name = sig.field_name
    vc = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
    try:
        status = validate_pdf_signature(sig, vc)
    except Exception as exc:  # noqa: BLE001 - pyHanko raises for signatures too broken to evaluate
        return CopyValidation(valid=False, intact=False, trusted=False,
                              problems=[f"signature {name}: cannot be evaluated ({type(exc).__name__}: {exc})"])
    problems = []
    if not status.intact:
        problems.append(f"signature {name}: the signed bytes were changed after signing")
    elif not status.valid:
        problems.append(f"signature {name}: does not verify with the signer's certificate")
    if not status.trusted:
        problems.append(f"signature {name}: the signer's certificate does not chain to a trusted CA")
    if status.modification_level is not None and not status.docmdp_ok:
        problems.append(f"signature {name}: the file was modified after signing ({status.modification_level.name})")
    if not status.bottom_line and not problems:
        problems.append(f"signature {name}: judged invalid by pyHanko")
    return CopyValidation(valid=status.bottom_line, intact=status.intact, trusted=status.trusted,
                          signer=_common_name(status.signing_cert), signed_at=status.signer_reported_dt,
                          problems=problems)


# ============================================================================ issuing
def agency_p12(settings: Settings) -> Path:
    return settings.copies.pkcs12_path or settings.data_dir / "keys" / "agency.p12"


def trust_root_paths(settings: Settings) -> list[Path]:
    if settings.copies.trust_roots:
        return list(settings.copies.trust_roots)
    dev = settings.data_dir / "keys" / "ca.pem"
    return [dev] if dev.exists() else []


def _declared_dpi(data: bytes, number: int) -> float | None:
    """The resolution an image file declares for page `number`, or None. Unlike the OCR path,
    which assumes 300 dpi, a copy must not claim a resolution the scanner never stated."""
    with Image.open(io.BytesIO(data)) as im:
        im.seek(number - 1)
        x, y = (im.info.get("dpi") or (0, 0))[:2]
    if not x or not y:
        return None
    if abs(x - y) > 0.01 * max(x, y):
        raise ValueError(f"page {number} has different horizontal and vertical resolutions ({x:g} x {y:g} dpi); "
                         "a 100 % copy needs square pixels")
    return float(x)


def _upright_image_file(data: bytes, kind: FileKind) -> bool:
    """A one-page JPEG or PNG that needs no rotation: its own bytes can go into the copy."""
    if kind not in (FileKind.jpeg, FileKind.png):
        return False
    with Image.open(io.BytesIO(data)) as im:
        return im.getexif().get(0x0112, 1) == 1


def _encode(page: RawPage, kind: FileKind) -> bytes:
    assert page.image is not None
    buf = io.BytesIO()
    if kind is FileKind.pdf:
        page.image.save(buf, "JPEG", quality=RENDER_JPEG_QUALITY, subsampling=0)
    else:
        page.image.save(buf, "PNG")  # a scan's pixels, rotated upright: no loss
    return buf.getvalue()


def copy_pages(data: bytes, numbers: list[int], settings: Settings) -> list[tuple[bytes, float]]:
    """(image bytes, dpi) for the given pages of an original; PDFs are rendered at 300 dpi (or
    the floor, if higher), images keep their own resolution and are refused when they state none."""
    kind = sniff(data[:2048])
    min_dpi = settings.copies.min_dpi
    out: list[tuple[bytes, float]] = []
    for n in numbers:
        if kind is FileKind.pdf:
            dpi = max(RENDER_DPI, min_dpi)
            [page] = iter_pages(data, kind, settings.limits, dpi=dpi, only=n)
            out.append((_encode(page, kind), float(dpi)))
            continue
        declared = _declared_dpi(data, n)
        if declared is None:
            raise ValueError(f"page {n} of the original states no resolution (dpi); a copy must be the scan at "
                             f"100 % and at least {min_dpi} dpi: rescan it with the resolution recorded")
        check_dpi(declared, n, min_dpi)
        if _upright_image_file(data, kind):
            out.append((data, nominal_dpi(declared)))
        else:
            [page] = iter_pages(data, kind, settings.limits, only=n)
            out.append((_encode(page, kind), nominal_dpi(declared)))
    return out


def _next_copy_key(svc, code: str) -> str:  # noqa: ANN001 - Services
    prefix = result_key(code, "copies/")
    taken = [int(m.group(1)) for k in svc.store.list(prefix) if (m := re.fullmatch(r"(\d+)\.pdf", k[len(prefix):]))]
    return f"{prefix}{max(taken, default=0) + 1}.pdf"


def issue_copy(svc, result_code: str) -> IssuedCopy:  # noqa: ANN001 - Services
    """Make, sign and store a copy of the pages a stored result came from, and record it in the
    result's provenance chain. Raises LookupError for an unknown result, ValueError for a scan
    that cannot make a lawful copy."""
    settings = svc.settings
    try:
        result = json.loads(svc.store.get(result_key(result_code, "result.json")))
    except ObjectNotFound:
        raise LookupError(f"no stored result {result_code}") from None
    digest, numbers = result["source"]["sha256"], list(result["source"]["pages"])
    if not numbers:
        raise ValueError(f"result {result_code} names no pages of its original")
    okey = original_key(digest)
    data = check_digest(okey, svc.store.get(okey), digest)
    pages = copy_pages(data, numbers, settings)

    agency = settings.copies.agency_name
    signed_at = now_vn().replace(microsecond=0)  # the stamp shows seconds; /M must say the same
    unsigned = make_copy(pages, agency, signed_at, settings.copies.min_dpi)
    signed = sign_copy(unsigned, agency_p12(settings), settings.copies.pkcs12_password.encode(), signed_at, agency)
    key = _next_copy_key(svc, result_code)
    digest_copy = svc.store.put(key, signed, "application/pdf")
    dpis = [dpi for _, dpi in pages]
    chain.append(svc, result_code, "copy_issued", actor=f"{settings.service_name}@{settings.site}",
                 software={"sohoa": __version__, "pyhanko": version("pyhanko")},
                 parameters={"agency": agency, "form": FORM, "dpi": dpis, "pages": numbers,
                             "signed_at": iso_vn(signed_at)},
                 inputs={okey: digest}, outputs={key: digest_copy})
    return IssuedCopy(key=key, sha256=digest_copy, pages=numbers, dpi=dpis, agency=agency, signed_at=signed_at)
