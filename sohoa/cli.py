"""The `sohoa` command. Its options and output formats are a contract other tools rely on."""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from workers.queues import QUEUES

from .config import Settings, get_settings
from .models import ResultObject

app = typer.Typer(help="sohoa: digitise dossiers received at public-administration service desks.",
                  no_args_is_help=True, add_completion=False)
records_app = typer.Typer(help="The existing electronic records that documents are verified against.")
app.add_typer(records_app, name="records")
db_app = typer.Typer(help="The metadata database (SQLite or PostgreSQL, SOHOA_DATABASE_URL).")
app.add_typer(db_app, name="db")
keys_app = typer.Typer(help="The service's provenance signing key (Ed25519) and the API's keys with roles.")
app.add_typer(keys_app, name="keys")
err = Console(stderr=True)
out = Console()


@app.callback()
def _configure() -> None:
    # Every command logs alike (SOHOA_LOG_FORMAT, SOHOA_LOG_LEVEL), with personal data masked.
    from .logs import configure_logging

    settings = Settings()  # not get_settings(): its cache would outlive this command's environment
    configure_logging(settings.log_format, settings.log_level)


INPUT_SUFFIXES = {".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png", ".zip"}


def _services(**overrides: object):  # noqa: ANN202
    from .services import build_services

    return build_services(Settings(**overrides))


def _expand(paths: list[Path]) -> list[Path]:
    """Files as given, and the files inside folders (by suffix there, to skip READMEs and truth files)."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in INPUT_SUFFIXES)
        elif p.is_file():
            files.append(p)
        else:
            raise typer.BadParameter(f"no such file or folder: {p}")
    return files


def _mask(value: object) -> str:
    s = str(value)
    return s[:3] + "…" + s[-3:] if len(s) > 8 else s


@app.command()
def process(
    paths: Annotated[list[Path], typer.Argument(help="files and folders (PDF, TIFF, JPEG, PNG, ZIP)")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines on stdout, one result object a document")] = False,
    branch: Annotated[str | None, typer.Option("--branch", help="branch (desk) code the batch came from")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="worker processes (0: one per CPU core)")] = 0,
) -> None:
    """Run the whole pipeline on this machine and report one result per document."""
    from . import pipeline

    logging.getLogger().setLevel(logging.WARNING)  # a one-shot run: the results are the output
    files = _expand(paths)
    svc = _services(**({"ocr_workers": 1} if jobs == 1 else {}))
    batch_id = pipeline.create_batch(svc, branch or svc.settings.default_branch)
    results: list[ResultObject] = []
    with Progress(console=err, disable=len(files) <= 1, transient=True) as progress:
        task = progress.add_task("processing", total=len(files))
        # Every original is stored and queued first, so an interrupted run loses nothing.
        received = [pipeline.receive(svc, batch_id, path.name, path.read_bytes()) for path in files]
        for file_results in _run_files(svc, received, jobs or os.cpu_count() or 1):
            for r in file_results:
                if as_json:
                    sys.stdout.write(r.model_dump_json() + "\n")
                    sys.stdout.flush()
            results += file_results
            progress.advance(task)
    if not as_json:
        _print_table(results)
        out.print(f"batch {batch_id}: {len(results)} document(s) from {len(files)} file(s); "
                  f"results stored in {svc.store.describe()}, metadata in {svc.settings.db_url}")


def _process_ids(file_ids: list[str], svc=None) -> list[ResultObject]:  # noqa: ANN001
    """The results of one received file (a ZIP gives several ids); in a worker, its own services."""
    from . import pipeline

    svc = svc or _worker_services()
    return [r for fid in file_ids for r in pipeline.process_file_or_record(svc, fid)]


@lru_cache
def _worker_services():  # noqa: ANN202 - one set of services (and one OCR engine) per worker process
    from ocr.engines import one_thread_per_process

    # Files already run one per core; a page pool (or OpenCV's threads) inside each would only
    # oversubscribe the CPU.
    one_thread_per_process()
    return _services(ocr_workers=1)


def _run_files(svc, received: list[list[str]], jobs: int) -> Iterator[list[ResultObject]]:  # noqa: ANN001
    """Results file by file, in input order. Several files run in parallel processes, one file
    at a time; a single file's pages are spread over the page pool instead (`SOHOA_OCR_WORKERS`)."""
    if jobs <= 1 or len(received) <= 1:
        try:
            for ids in received:
                yield _process_ids(ids, svc)
        finally:
            svc.close()
        return
    # spawn, not fork: the parent holds SQLite connections and libtesseract state.
    with ProcessPoolExecutor(min(jobs, len(received)), mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(_process_ids, received)


def _print_table(results: list[ResultObject]) -> None:
    table = Table(title="sohoa results")
    for col in ("file", "pages", "doc type", "key fields", "review", "verification", "result code"):
        table.add_column(col, overflow="fold")
    for r in results:
        if r.error:
            table.add_row(r.source.file, "", "[red]error[/]", f"{r.error.code}: {r.error.message}", "", "", "")
            continue
        key = {k: r.fields[k] for k in ("id_number", "full_name", "date_of_birth", "document_number",
                                        "enterprise_code", "company_name", "subject") if k in r.fields}
        shown = ", ".join(f"{k}={_mask(v) if k == 'id_number' else v}" for k, v in key.items())
        ver = r.verification.status + (f" ({', '.join(r.verification.mismatched_fields)})"
                                       if r.verification.mismatched_fields else "")
        table.add_row(r.source.file, ",".join(map(str, r.source.pages)), r.doc_type, shown,
                      "yes" if r.needs_review else "", ver, r.result_code or "")
    out.print(table)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database to the newest schema (Alembic). The service also does this when it
    opens the database; a deploy step may run it first, once, before starting many workers."""
    from storage.migrate import current

    svc = _services()  # opening the database migrates it
    out.print(f"schema revision {current(svc.sessions.kw['bind'])}")


@records_app.command("import")
def records_import(csv_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Load registry records from CSV (idempotent upsert); rejected rows are listed with reasons."""
    from . import registry

    svc = _services()
    try:
        report = registry.import_csv(csv_file.read_text(encoding="utf-8"), svc.sessions, source=csv_file.name)
    except (ValueError, UnicodeDecodeError) as exc:
        err.print(f"[red]cannot import {csv_file}: {exc}[/]")
        raise typer.Exit(2) from None
    out.print(f"inserted {report.inserted}, updated {report.updated}, unchanged {report.unchanged}, "
              f"rejected {len(report.rejected)}")
    for line, reason in report.rejected:
        out.print(f"  line {line}: {reason}")


@app.command()
def watch(
    folder: Annotated[Path, typer.Argument(help="the folder the scanner drops files (or dossier folders) into",
                                           file_okay=False)],
    branch: Annotated[str, typer.Option(help="the branch (desk) the scanner belongs to")],
    settle: Annotated[float, typer.Option(help="seconds a file must stay unchanged before it is taken")] = 2.0,
    interval: Annotated[float, typer.Option(help="seconds between looks at the folder")] = 1.0,
    once: Annotated[bool, typer.Option(help="one pass, then exit (for cron or a test)")] = False,
) -> None:
    """Watched-folder ingest for scanners that can only drop files: each complete file (or folder)
    becomes a batch, is stored and queued, and is moved to done/ (or failed/, with the reason).
    Processing is done by `sohoa serve` (embedded) or the Celery workers."""
    import time

    from ingest.watch import Watcher
    from workers.tasks import send

    from . import dossiers, pipeline

    svc = _services()
    folder.mkdir(parents=True, exist_ok=True)

    def accept(files: list[tuple[str, bytes]], key: str, name: str) -> list[str]:
        # A dossier folder (or file) named by its code joins that dossier: 000.00.15.H42-261126-0007/
        code = dossiers.code_in_name(name)
        accepted = pipeline.accept(svc, files, branch, idempotency_key=key, sender=f"watch:{folder.name}",
                                   dossier_code=code)
        send(svc, accepted.queued)  # empty for a replayed batch: it was sent the first time
        return accepted.file_ids

    watcher = Watcher(folder, accept, settle_seconds=settle)
    err.print(f"watching {folder} for branch {branch} (Ctrl-C to stop)" if not once else f"one pass over {folder}")
    while True:
        ids = watcher.poll()
        if ids:
            out.print(f"accepted {len(ids)} file(s)")
        if once:
            return
        time.sleep(interval)


@app.command()
def serve(
    host: str = "127.0.0.1", port: int = 8000,
    workers: Annotated[int, typer.Option(help="API processes (distributed mode only: in embedded mode the "
                                              "one process also runs the worker)")] = 1,
) -> None:
    """The HTTP API with an embedded worker (or, with SOHOA_BROKER_URL, feeding Celery workers)."""
    import uvicorn

    from api.deps import api_key_for

    settings = get_settings()
    if workers > 1 and not settings.broker_url:
        err.print("[red]--workers > 1 needs SOHOA_BROKER_URL: the embedded worker belongs to one process[/]")
        raise typer.Exit(2)
    err.print(f"data dir {settings.data_dir}; API key in {settings.data_dir / 'api_key'}"
              if not settings.api_key else f"data dir {settings.data_dir}")
    api_key_for(settings)
    limits = settings.limits
    # log_config=None: our handlers (masked, JSON if asked), not uvicorn's.
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=workers, log_config=None,
                # h11, with the deadline on request headers that uvicorn lacks (api/limits.py).
                http="api.limits:H11WithHeaderDeadline",
                limit_concurrency=limits.max_connections, timeout_keep_alive=limits.keep_alive_seconds,
                # h11 buffers a request's headers up to this, then answers a bare 400. Well above the
                # app's own limit, so headers a little too large get its 431 problem detail instead.
                h11_max_incomplete_event_size=8 * limits.max_header_bytes)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="task processes (0: one per CPU core)")] = 0,
    queues: Annotated[str, typer.Option(help="queues to consume, comma-separated (workers/queues.py)")] =
        ",".join(QUEUES),
    beat: Annotated[bool, typer.Option(help="also run the periodic sweeper's clock (one per deployment)")] = False,
    restart: Annotated[bool, typer.Option(help="run Celery as a child process and start it again if it dies "
                                               "(workers/supervisor.py)")] = True,
) -> None:
    """A Celery worker (distributed mode, needs SOHOA_BROKER_URL). Run more of them, on more
    machines, to go faster; give ID cards their own (`--queues sohoa.small`) so long PDFs cannot
    hold them up."""
    settings = get_settings()
    if not settings.broker_url:
        err.print("[red]SOHOA_BROKER_URL is not set; in embedded mode `sohoa serve` runs the worker[/]")
        raise typer.Exit(2)
    if restart:
        from workers.supervisor import supervise

        code = supervise([sys.executable, "-m", "sohoa.cli", "worker", f"--concurrency={concurrency}",
                          f"--queues={queues}", "--beat" if beat else "--no-beat", "--no-restart"])
        raise typer.Exit(code if code >= 0 else 128 - code)
    # Without gossip, mingle and heartbeat: with Redis as the broker, a worker that has them can
    # reconnect after a Redis restart and never consume again (celery/celery#8091; seen here in
    # fault test c). sohoa needs none of them: claims live in the database, not between workers.
    argv = ["worker", f"--loglevel={settings.log_level}", f"--concurrency={concurrency or os.cpu_count() or 1}",
            f"--queues={queues}", f"--hostname=sohoa-{os.getpid()}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if beat:
        argv += ["--beat", f"--schedule={settings.data_dir / 'celerybeat-schedule'}"]
    if settings.metrics_port:
        from .metrics import start_worker_metrics_server

        start_worker_metrics_server(settings.metrics_port)
    # Celery's own command line, run in this process (the metrics server above must be in it).
    # Not app.worker_main or app.start: both drop the exit code, so a worker that ended on
    # "Unrecoverable error" exited 0 and looked like a deliberate stop to whatever restarts it.
    from celery.bin.celery import celery as celery_command

    raise typer.Exit(celery_command.main(["-A", "workers.tasks:celery_app", *argv], standalone_mode=False) or 0)


@keys_app.command("init")
def keys_init() -> None:
    """Make a development signing key (if none exists) and write its public key beside it. In
    production, mount the province's own key at SOHOA_SIGNING_KEY_PATH instead."""
    from cryptography.hazmat.primitives import serialization

    from .provenance import key_id, load_or_create_key

    settings = get_settings()
    existed = settings.key_path.exists()
    key = load_or_create_key(settings.key_path)
    public = settings.key_path.with_suffix(".pub.pem")
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    out.print(f"{'existing' if existed else 'new'} key {key_id(key.public_key())}: {settings.key_path}\n"
              f"public key (give it to whoever verifies): {public}")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="scanner, downstream, archivist, reviewer or admin (docs/api-access.md)")],
    branch: Annotated[str | None, typer.Option(help="a scanner key's branch (required for scanners)")] = None,
    label: Annotated[str | None, typer.Option(help="who holds the key: a desk, a system")] = None,
) -> None:
    """Make an API key. Its secret alone goes to stdout, this once: only its SHA-256 is kept."""
    from api.keys import create_key

    _issue_secret(lambda: create_key(_services().sessions, role, branch, label),
                  lambda row: f"key {row.id} ({row.role}{', branch ' + row.branch if row.branch else ''})")


def _issue_secret(make, describe) -> None:  # noqa: ANN001 - () -> (row, secret), row -> str
    """Make a key or a subscription: its secret alone to stdout, this once, so a script can capture
    it; what was made to stderr. A refused request (ValueError) exits 2."""
    try:
        row, secret = make()
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    err.print(f"{describe(row)}; its secret cannot be shown again:")
    sys.stdout.write(secret + "\n")


def _rows_table(title: str, columns: tuple[str, ...]) -> Table:
    table = Table(title=title)
    table.add_column("id", no_wrap=True)  # whole, to be copied into the revoke/remove command
    for col in columns:
        table.add_column(col, overflow="fold")
    return table


@keys_app.command("list")
def keys_list() -> None:
    """The API keys, revoked ones too (no secrets: they are not kept)."""
    from api.keys import list_keys

    table = _rows_table("API keys", ("role", "branch", "label", "created (UTC)", "revoked (UTC)"))
    for k in list_keys(_services().sessions):
        table.add_row(k.id, k.role, k.branch or "", k.label or "", f"{k.created_at:%Y-%m-%d %H:%M}",
                      f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "")
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="the key's id (k-…), from `sohoa keys list`")]) -> None:
    """Revoke an API key: from now on it gets 401."""
    from api.keys import revoke_key

    _report_revoked(revoke_key(_services().sessions, key_id), "key", key_id, lambda row: f" ({row.role})")


def _report_revoked(row, what: str, ident: str, extra=lambda _row: "") -> None:  # noqa: ANN001
    """What `keys revoke` and `webhooks remove` print; an unknown id exits 1."""
    if row is None:
        err.print(f"[red]no {what} {ident}[/]")
        raise typer.Exit(1)
    out.print(f"{what} {row.id}{extra(row)} revoked at {row.revoked_at:%Y-%m-%d %H:%M:%S} UTC")


@app.command("verify")
def verify_command(
    subject: Annotated[str, typer.Argument(help="a result code (KQ-…) or a dossier (batch) id")],
    public_key: Annotated[Path | None, typer.Option(help="PEM public key to verify with (default: this "
                                                         "service's own key)")] = None,
) -> None:
    """Check a result's (or dossier's) provenance: every event's hash, link and signature, the
    stored copy of the chain against the database's, and every stored object against the hash its
    provenance recorded. Exit code 1 and each problem named when anything is wrong."""
    from . import chain

    svc = _services()
    public = chain.load_public_key(public_key.read_bytes()) if public_key else None
    problems = chain.verify_subject(svc, subject, public) + _copy_problems(svc, subject)
    if problems:
        for p in problems:
            out.print(f"[red]✗[/] {p}")
        raise typer.Exit(1)
    events = chain.events(svc, subject)
    objects = len(chain.recorded_objects(events))
    out.print(f"[green]✓[/] {subject}: {len(events)} events, hashes, links and signatures sound; "
              f"{objects} stored objects match their recorded SHA-256")


def _copy_problems(svc, subject: str) -> list[str]:  # noqa: ANN001 - Services
    """The signed copies a result's chain lists: each one's PAdES signature, checked against the
    agency's CA (docs/copies.md); their bytes are already checked against the chain."""
    from . import chain
    from .copies import trust_root_paths, validate_copy

    keys = [k for ev in chain.events(svc, subject) if ev.type == "copy_issued" for k in ev.outputs if "/" in k]
    roots = [p.read_bytes() for p in trust_root_paths(svc.settings)]
    problems = []
    for key in keys:
        try:
            report = validate_copy(svc.store.get(key), roots)
        except Exception as exc:  # noqa: BLE001 - missing or damaged: verify_subject names it already
            problems.append(f"{key}: the signed copy cannot be validated ({type(exc).__name__})")
            continue
        if not report.valid:
            problems.append(f"{key}: the copy's signature is not valid ({'; '.join(report.problems) or 'see sohoa copy'})")
    return problems


@app.command()
def audit(
    sample: Annotated[int | None, typer.Option(help="audit this many results/dossiers, chosen at random")] = None,
    since: Annotated[datetime | None, typer.Option(help="only those whose provenance began at or after")] = None,
    until: Annotated[datetime | None, typer.Option(help="only those whose provenance began before")] = None,
) -> None:
    """Fixity audit: re-hash stored objects against their recorded SHA-256 and record a
    fixity_check event on each chain. Exit code 1 when anything is damaged or missing."""
    import time

    from . import fixity

    svc = _services()
    t0 = time.perf_counter()
    report = fixity.audit(svc, fixity.subjects(svc, since, until, sample))
    took = time.perf_counter() - t0
    for p in report.problems:
        out.print(f"[red]✗[/] {p}")
    out.print(f"{len(report.subjects)} results/dossiers, {report.objects} objects in {took:.1f} s "
              f"({report.objects / took if took else 0:.0f} objects/s); {len(report.problems)} problem(s)")
    if report.problems:
        raise typer.Exit(1)


@app.command()
def show(result_code: str) -> None:
    """Print a stored result object as JSON."""
    from . import pipeline

    result = pipeline.get_result(_services(), result_code)
    if result is None:
        err.print(f"[red]no result {result_code}[/]")
        raise typer.Exit(1)
    sys.stdout.write(result.model_dump_json(indent=2) + "\n")


@app.command()
def search(text: str, limit: int = 20, offset: int = 0,
           doc_type: Annotated[str | None, typer.Option("--type", help="only this document type")] = None,
           branch: Annotated[str | None, typer.Option(help="only this branch")] = None) -> None:
    """Stored results containing every word and "quoted phrase" (with or without diacritics), best
    first: result code, type, score and the matching text, matches between « and »."""
    import html

    from . import pipeline

    page = pipeline.search(_services(), text, limit=limit, offset=offset, doc_type=doc_type, branch=branch)
    if not page.hits:
        out.print("no results")
        return
    for h in page.hits:
        # Plain text, one line a result: the HTML snippet's marks become guillemets, which
        # Vietnamese text does not use, so the matches stay visible when piped.
        snippet = html.unescape(h.snippet.replace("<mark>", "«").replace("</mark>", "»"))
        sys.stdout.write(f"{h.result_code}\t{h.doc_type}\t{h.score:.4g}\t{snippet}\n")
    more = f"; next page: --offset {page.next_offset}" if page.next_offset is not None else ""
    of = page.total if page.total_exact else f"more than {page.total}"
    err.print(f"{offset + 1}–{offset + len(page.hits)} of {of}{more}", highlight=False)




# ---------------------------------------------------------------- dossiers as BagIt bags (sohoa/bag.py, docs/archive.md)
@app.command("export")
def bag_export(
    batch_id: Annotated[str, typer.Argument(help="the batch (dossier) to export")],
    out_dir: Annotated[Path, typer.Argument(help="a new or empty folder to write the bag in")],
) -> None:
    """Write a dossier as a BagIt bag: originals, results, signed provenance, Decree 30/2020 metadata."""
    from .bag import ExportRefused, export_dossier

    try:
        path = export_dossier(_services(), batch_id, out_dir)
    except KeyError:
        err.print(f"[red]no batch {batch_id}[/]")
        raise typer.Exit(1) from None
    except (ExportRefused, FileExistsError) as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    out.print(f"bag of {batch_id} written to {path}")


@app.command("import")
def bag_import(bag_dir: Annotated[Path, typer.Argument(help="the bag's folder", exists=True, file_okay=False)]) -> None:
    """Take a dossier bag in after verifying it whole; refused (exit code 1) with every problem listed."""
    from .bag import import_bag

    report = import_bag(_services(), bag_dir)
    sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    if not report.accepted:
        raise typer.Exit(1)


# ---------------------------------------------------------------- digitised copies (sohoa/copies.py, docs/copies.md)
certs_app = typer.Typer(help="The agency certificate that signs digitised copies (docs/copies.md).")
app.add_typer(certs_app, name="certs")


@certs_app.command("init-dev")
def certs_init_dev(
    agency: Annotated[str | None, typer.Option(help="the agency's name (default: SOHOA_COPIES__AGENCY_NAME)")] = None,
    force: Annotated[bool, typer.Option(help="replace an existing agency key")] = False,
) -> None:
    """Make a development CA and agency certificate in data_dir/keys (ca.pem, ca-key.pem, agency.p12).
    Trusted by nobody but this installation; a real deployment uses the agency's own PKCS#12."""
    from .certs import init_dev_pki

    settings = Settings()
    name = agency or settings.copies.agency_name
    try:
        # The PKCS#12 is encrypted with SOHOA_COPIES__PKCS12_PASSWORD, so signing can open it; empty: unencrypted.
        pki = init_dev_pki(settings.data_dir / "keys", name, settings.copies.pkcs12_password.encode(), overwrite=force)
    except FileExistsError as exc:
        err.print(f"[red]{exc} (--force replaces it)[/]")
        raise typer.Exit(1) from None
    out.print(f"development CA {pki.ca_pem}\nagency key and certificate {pki.agency_p12} ({name})")
    if name != settings.copies.agency_name:
        err.print(f"[yellow]copies are stamped with SOHOA_COPIES__AGENCY_NAME ({settings.copies.agency_name!r}); "
                  "set it to the same name[/]")
    if settings.copies.pkcs12_path and settings.copies.pkcs12_path != pki.agency_p12:
        err.print(f"[yellow]SOHOA_COPIES__PKCS12_PATH points at {settings.copies.pkcs12_path}, not this key[/]")


@app.command("copy")
def copy_result(result_code: str) -> None:
    """Issue a signed digitised copy ("SAO Y", Decree 30/2020/NĐ-CP) of a result's original pages,
    print its key, then its validation as JSON (exit code 1 if it does not validate)."""
    from .copies import issue_copy, trust_root_paths, validate_copy

    svc = _services()
    try:
        issued = issue_copy(svc, result_code)
    except LookupError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    except (ValueError, FileNotFoundError) as exc:
        err.print(f"[red]no copy issued: {exc}[/]")
        raise typer.Exit(1) from None
    sys.stdout.write(issued.key + "\n")
    roots = trust_root_paths(svc.settings)
    if not roots:
        err.print("[yellow]no CA to validate against: set SOHOA_COPIES__TRUST_ROOTS[/]")
    report = validate_copy(svc.store.get(issued.key), [p.read_bytes() for p in roots])
    sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    if not report.valid:
        raise typer.Exit(1)



# ---------------------------------------------------------------- webhooks (sohoa/webhooks.py, docs/webhooks.md)
webhooks_app = typer.Typer(help="Webhooks: signed POSTs to downstream systems when a result is ready or corrected.")
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("add")
def webhooks_add(
    url: Annotated[str, typer.Argument(help="where deliveries are POSTed (http:// or https://)")],
    event: Annotated[list[str] | None,
                     typer.Option(help="result.ready or result.corrected (repeat; default both)")] = None,
    doc_type: Annotated[list[str] | None,
                        typer.Option(help="only results of this type (repeat; default every type)")] = None,
    label: Annotated[str | None, typer.Option(help="whose receiver this is")] = None,
) -> None:
    """Subscribe a receiver to changes from now on. Its signing secret alone goes to stdout, this once."""
    from .webhooks import subscribe

    _issue_secret(lambda: subscribe(_services().sessions, url, event, doc_type, label),
                  lambda row: f"webhook {row.id} ({', '.join(row.events)}; "
                              f"{', '.join(row.doc_types or ['every type'])})")


@webhooks_app.command("list")
def webhooks_list() -> None:
    """The subscriptions, revoked ones too (no secrets)."""
    from .webhooks import list_webhooks

    table = _rows_table("Webhooks", ("url", "events", "types", "label", "cursor", "created (UTC)", "revoked (UTC)"))
    for w in list_webhooks(_services().sessions):
        table.add_row(w.id, w.url, " ".join(w.events), " ".join(w.doc_types or ["*"]), w.label or "", str(w.cursor),
                      f"{w.created_at:%Y-%m-%d %H:%M}", f"{w.revoked_at:%Y-%m-%d %H:%M}" if w.revoked_at else "")
    out.print(table)


@webhooks_app.command("remove")
def webhooks_remove(
    webhook_id: Annotated[str, typer.Argument(help="the webhook's id (wh-…), from `sohoa webhooks list`")],
) -> None:
    """Revoke a subscription: nothing more is sent to it; its delivery log is kept."""
    from .webhooks import unsubscribe

    _report_revoked(unsubscribe(_services().sessions, webhook_id), "webhook", webhook_id)


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    webhook_id: Annotated[str, typer.Argument(help="the webhook's id (wh-…)")],
    state: Annotated[str | None, typer.Option(help="pending, sending, delivered or failed")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    retry: Annotated[str | None, typer.Option(help="send this failed delivery (d-…) again first")] = None,
) -> None:
    """The delivery log, newest first: each delivery's state and every attempt made."""
    from .webhooks import NotRetryable, deliveries, get
    from .webhooks import retry as retry_delivery

    sessions = _services().sessions
    if get(sessions, webhook_id) is None:
        err.print(f"[red]no webhook {webhook_id}[/]")
        raise typer.Exit(1)
    if retry:
        try:
            if retry_delivery(sessions, webhook_id, retry) is None:
                err.print(f"[red]no delivery {retry} of webhook {webhook_id}[/]")
                raise typer.Exit(1)
        except NotRetryable as exc:
            err.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from None
        err.print(f"delivery {retry} is due again")
    page = deliveries(sessions, webhook_id, limit, offset, state)
    # Lines, not a table: a delivery's attempts are a list of their own, and lines survive grep.
    out.print(f"{page.total} deliveries of {webhook_id}, newest first", highlight=False)
    for d, attempts in page.deliveries:
        due = f", next {d.next_attempt_at:%Y-%m-%d %H:%M:%S}" if d.next_attempt_at else ""
        out.print(f"{d.id} change {d.change_id} {d.event} {d.result_code}: {d.state}, "
                  f"{d.attempts} attempt(s){due}", highlight=False, soft_wrap=True)
        for a in attempts:
            out.print(f"    {a.at:%Y-%m-%d %H:%M:%S} {a.status_code or '-'} {a.error or ''} ({a.seconds:.2f} s)",
                      highlight=False, soft_wrap=True, markup=False)

if __name__ == "__main__":
    app()
