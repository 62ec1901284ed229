"""The one settings object. Every knob is a `SOHOA_*` environment variable (or `.env`).

Embedded mode (the default) needs no servers: files under `data_dir`, SQLite, an in-process
worker. Production swaps in MinIO/S3, PostgreSQL and a Celery broker by setting
`SOHOA_STORAGE_BACKEND=s3`, `SOHOA_DATABASE_URL=postgresql+psycopg://…`, `SOHOA_BROKER_URL=redis://…`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class TesseractOptions(BaseModel):
    """Options of the Tesseract engine (one class per engine, docling-style)."""

    lang: str = "vie"
    # Debian's tesseract-ocr-vie lives here; a deployment may point at npm's best_int model instead.
    tessdata_dir: Path | None = None
    psm: int = 4  # single column of variable-size text: cards and forms read best this way here
    # Tesseract's OpenMP threads fight each other on small machines; parallelise across pages instead.
    omp_thread_limit: int = 1


class DetectorOptions(BaseModel):
    """PP-OCR text-line detection (ONNX) that feeds line crops to a reader."""

    # None: the PP-OCRv6-small weights shipped inside the `rapidocr` wheel.
    model_path: Path | None = None
    # Which engine reads the detected line crops: Tesseract (writes Vietnamese tone marks) or a
    # PaddleOCR recogniser from `paddle.rec_model_dir` (a deployment's fine-tuned Vietnamese model).
    reader: Literal["tesseract", "paddle"] = "tesseract"


class PaddleOptions(BaseModel):
    """The real `paddleocr` package (optional extra `paddle`), models from local directories only.

    Never a download: no `lang=`; both model directories must be given. PaddleOCR's stock
    recognisers cannot write Vietnamese tone marks (notes/ocr-engines.md); point `rec_model_dir`
    at a Vietnamese-trained model to get them.
    """

    det_model_dir: Path | None = None
    det_model_name: str = "PP-OCRv5_mobile_det"
    rec_model_dir: Path | None = None
    rec_model_name: str = "PP-OCRv5_mobile_rec"
    # oneDNN crashes on these models in paddlepaddle 3.3.1 (Paddle issue #79749).
    enable_mkldnn: bool = False
    cpu_threads: int = 1


class PreprocessOptions(BaseModel):
    render_dpi: int = 300
    # Find the paper/card outline in a photo (or a card on a scanner with the lid open) and
    # straighten it; a page that fills the scan is left alone.
    correct_perspective: bool = True
    detect_orientation: bool = True
    deskew: bool = True
    max_deskew_degrees: float = 10.0
    normalise_illumination: bool = True
    # After flattening: a tone curve that whitens print paler than this fraction of the way from
    # ink to paper (guilloche on ID cards, paper texture); see ocr/preprocess.suppress_background.
    suppress_background: bool = True
    background_white_point: float = 0.8
    crop_to_content: bool = True  # a card copied onto A4 is read from its own region
    # Card photos are often ~1000 px wide; below this the page is upscaled for OCR.
    min_width_px: int = 1000


class Limits(BaseModel):
    max_file_bytes: int = 200 * 1024 * 1024
    max_pages: int = 500
    max_pixels_per_page: int = 80_000_000  # ~A3 at 600 dpi; anything bigger is a decompression bomb
    max_zip_entries: int = 1000
    max_zip_total_bytes: int = 1024 * 1024 * 1024
    max_zip_depth: int = 1

    # What the HTTP server bounds (api/limits.py; announced in the OpenAPI description).
    # A whole request: one file at its limit and some more, not every file at its limit (a batch of
    # 100 files of 200 MiB would be 20 GiB, all of it read into memory by the upload route).
    max_request_bytes: int = Field(256 * 1024 * 1024, ge=1024)
    # The `le`s below: Starlette's own parser runs after ours with its defaults (FastAPI passes no
    # limits) and answers a bare 400 past them, so ours must be the tighter.
    max_files_per_batch: int = Field(100, ge=1, le=1000)
    max_form_fields: int = Field(16, ge=1, le=1000)  # parts that are not files (`branch`)
    max_field_bytes: int = Field(64 * 1024, ge=64, le=1024 * 1024)
    # One header line of a part (a filename lives in one); python-multipart refuses more than 4224.
    max_part_header_bytes: int = Field(4096, ge=256, le=4224)
    max_header_bytes: int = Field(16 * 1024, ge=1024)  # a request's headers together: 431 above
    # From a request's headers to the last byte of its body. A desk on a slow line sending one
    # large file needs minutes; a client trickling a body to hold a connection gets no more.
    request_body_seconds: float = Field(300, gt=0)
    request_header_seconds: float = Field(30, gt=0)  # from a request's first byte to its last header
    # Uploads being received at once, per API process: the upload route holds a batch in memory,
    # so this times max_request_bytes bounds that memory (8 × 256 MiB = 2 GiB). Beyond it, 503
    # with Retry-After: a scanner retries (with its Idempotency-Key) a few seconds later.
    max_concurrent_uploads: int = Field(8, ge=1)
    # uvicorn's, set by `sohoa serve`: connections at once (503 beyond) and idle keep-alive.
    max_connections: int = Field(256, ge=1)
    # Public dossier lookups (no key) per client address per minute, per API process (api/ratelimit.py).
    public_lookups_per_minute: int = Field(30, ge=1)
    keep_alive_seconds: int = Field(5, ge=1)


class WorkerOptions(BaseModel):
    """Distributed mode: how work is routed, held, retried and recovered (docs/scaling.md)."""

    # Files of at most this many pages go to the `sohoa.small` queue (a desk is waiting for an ID
    # card); longer ones to `sohoa.large`, so a flood of big PDFs cannot starve the cards.
    small_max_pages: int = 4
    # From this many pages a file's pages are read by many workers (`sohoa.pages`), not one.
    fanout_min_pages: int = 8
    # A worker holds a file for this long and renews it every third of it while it works; a
    # worker that dies (kill -9, lost machine) loses the file after at most this long.
    lease_seconds: int = 120
    # Transient faults (storage or database unreachable): retried with exponential backoff
    # (1, 2, 4, ... s, at most `retry_backoff_max_seconds` apart) this many times; after that the
    # file waits, queued, for the sweeper (an outage never fails a document).
    max_retries: int = 12
    retry_backoff_max_seconds: int = 60
    # The sweeper re-sends work the broker lost (a broker restarted without its data, a crash
    # between the database commit and the send) and work whose worker's lease ran out.
    sweep_interval_seconds: float = 60
    requeue_after_seconds: float = 300
    # Redis: a message not acknowledged this long is delivered again. Above any one task's run
    # time (a long PDF's pages are separate tasks, so a task is at most a few minutes).
    visibility_timeout_seconds: int = 3600
    # The periodic fixity audit (`sohoa.audit`, from the worker running `--beat`): this many
    # results and dossiers, chosen at random, re-hashed every `audit_interval_seconds`.
    audit_interval_seconds: float = 86400
    audit_sample: int = 1000


class WebhookOptions(BaseModel):
    """Webhooks to downstream systems (sohoa/webhooks.py, docs/webhooks.md)."""

    # A receiver that keeps failing is tried this many times, then the delivery is `failed` (kept
    # in the delivery log; an admin can send it again). With the backoff below that is about two
    # to three and a half hours: a receiver's maintenance window, not a lost weekend.
    max_attempts: int = Field(12, ge=1, le=100)
    # Attempt n waits base * 2^(n-1) seconds, at most `backoff_max_seconds`, then a random half
    # of it less (so receivers that come back are not hit by every sender at the same second).
    backoff_base_seconds: float = Field(10, gt=0)
    backoff_max_seconds: float = Field(3600, gt=0)
    # One POST's connect, write and read each; a receiver should answer 2xx at once and work later.
    timeout_seconds: float = Field(10, gt=0, le=300)
    # How often deliveries are planned and sent (embedded thread; Celery beat in distributed mode).
    dispatch_interval_seconds: float = Field(5, gt=0)
    # At most this many deliveries sent per dispatch (and changes planned per subscription).
    batch_size: int = Field(100, ge=1, le=10_000)
    # POSTs in flight at once per dispatch, to different subscriptions (each gets one at a time).
    senders: int = Field(4, ge=1, le=64)


class CopyOptions(BaseModel):
    """Digitised copies ("SAO Y", Decree 30/2020/NĐ-CP) signed with the agency's certificate (docs/copies.md)."""

    agency_name: str = "Trung tâm Phục vụ hành chính công tỉnh (development)"
    pkcs12_path: Path | None = None  # default: data_dir/keys/agency.p12 (`sohoa certs init-dev`)
    pkcs12_password: str = ""
    # CA certificates (PEM) a copy's signature is validated against; default: data_dir/keys/ca.pem if present.
    trust_roots: list[Path] = []
    # The decree's floor: a scan below it is refused, never upsampled to pass.
    min_dpi: int = 200


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SOHOA_", env_file=".env", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Field(default_factory=lambda: Path(user_data_dir("sohoa", appauthor=False)))
    database_url: str | None = None  # default: SQLite file in data_dir
    storage_backend: Literal["fs", "s3"] = "fs"
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "sohoa"
    s3_secure: bool = False
    s3_region: str | None = None
    # Uploads larger than this go in parts (S3 floor 5 MiB): a lost connection costs one part, not the file.
    s3_part_size: int = Field(16 * 1024 * 1024, ge=5 * 1024 * 1024, le=5 * 1024**3)
    s3_object_lock: bool = False  # WORM: the bucket is created with object lock (see docs/storage.md)
    s3_retention_days: int = Field(0, ge=0)  # default retention of every new object version; 0: none
    s3_retention_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE"
    # Originals are downloaded from the store by a redirect to a URL valid this long; 0: the API
    # streams them itself (when clients cannot reach the store's endpoint).
    s3_presign_seconds: int = Field(300, ge=0, le=7 * 24 * 3600)
    broker_url: str | None = None  # None: embedded worker; else Celery (redis://, amqp://)
    embedded_worker_poll_seconds: float = 0.5
    metrics_port: int | None = None  # `sohoa worker` serves Prometheus /metrics here (docs/operations.md)
    log_format: Literal["text", "json"] = "text"  # json: one object a line for a log collector (sohoa/logs.py)
    log_level: str = "INFO"
    workers: WorkerOptions = WorkerOptions()
    webhooks: WebhookOptions = WebhookOptions()
    # Not `copy`: that name would shadow pydantic's BaseModel.copy and warn on every import.
    copies: CopyOptions = CopyOptions()

    service_name: str = "sohoa"
    site: str = "default"  # which service-centre installation this is; goes into provenance
    default_branch: str = "HQ"
    # This service's unit code (QCVN 102:2016/BTTTT, e.g. 000.00.15.H42). With it, a batch sent
    # without a dossier code gets the next one of the day (sohoa/dossiers.py); without it,
    # dossier codes come only from the one-stop system.
    unit_code: str | None = None
    api_key: str | None = None  # default: generated on first start and kept in data_dir/api_key
    signing_key_path: Path | None = None  # default: data_dir/keys/provenance-ed25519.pem

    # auto: Tesseract, and PP-OCR line detection + a line reader for pages with security print
    # (guilloche) and pages Tesseract did not read confidently; tesseract: Tesseract alone;
    # detect: detection + line reader on every page; paddle: PaddleOCR from local model dirs.
    # See docs/ocr.md.
    ocr_engine: Literal["auto", "tesseract", "detect", "paddle"] = "auto"
    # Pages of one file are read in this many worker processes (0: one per CPU core; 1: in the
    # calling process). Each worker loads its engines once and is replaced after
    # `ocr_worker_max_pages` pages, which bounds its memory.
    ocr_workers: int = 0
    ocr_worker_max_pages: int = 200
    tesseract: TesseractOptions = TesseractOptions()
    detector: DetectorOptions = DetectorOptions()
    paddle: PaddleOptions = PaddleOptions()
    preprocess: PreprocessOptions = PreprocessOptions()
    limits: Limits = Limits()
    # Field confidences are calibrated into probabilities of being right (extraction/calibration.py,
    # fitted by bench/calibrate.py); false reports the parsers' raw scores, which is what a fit needs.
    calibrate: bool = True
    calibration_file: Path | None = None  # default: extraction/calibration.json
    review_threshold: float | None = None  # fields below it go to a person; default: the calibration's

    @field_validator("unit_code")
    @classmethod
    def _unit_code_format(cls, value: str | None) -> str | None:
        # At start-up, not at the first upload: a mistyped unit code would otherwise fail every batch.
        from .dossiers import check_unit  # sohoa.dossiers imports the database models

        return check_unit(value.strip()) if value and value.strip() else None

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'sohoa.db'}"

    @property
    def objects_dir(self) -> Path:
        return self.data_dir / "objects"

    @property
    def key_path(self) -> Path:
        return self.signing_key_path or self.data_dir / "keys" / "provenance-ed25519.pem"


@lru_cache
def get_settings() -> Settings:
    return Settings()
