"""Which errors are an outage of something we depend on (retry later) and which are the input's
or our own fault (retry a bounded number of times, then fail the file with the reason)."""

from __future__ import annotations

import sqlalchemy.exc
import urllib3.exceptions
from minio.error import S3Error, ServerError

# S3 error codes that mean "the service, not the request": the same request will work later.
# BadDigest: the bytes were damaged in transit (the server checked our Content-MD5); sending
# them again is the fix.
_TRANSIENT_S3_CODES = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "BadDigest",
                       "XAmzContentSHA256Mismatch", "XMinioServerNotInitialized", "XMinioStorageFull"}


def is_transient(exc: BaseException) -> bool:
    for e in _chain(exc):
        if isinstance(e, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.TimeoutError,
                          sqlalchemy.exc.InterfaceError)):
            return True  # database unreachable, restarting, or locked
        if isinstance(e, sqlalchemy.exc.DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)):
            return True  # object storage unreachable (the minio SDK speaks urllib3)
        if isinstance(e, ServerError) or (isinstance(e, S3Error) and e.code in _TRANSIENT_S3_CODES):
            return True
    return False


def _chain(exc: BaseException):  # noqa: ANN202 - the exception and its causes
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__
