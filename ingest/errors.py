"""Errors that name what is wrong with an input file. They are recorded against the batch."""

from __future__ import annotations

from sohoa.models import ProcessingError


class IngestError(Exception):
    """A file that cannot be processed. `code` is stable; `message` is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def to_model(self) -> ProcessingError:
        return ProcessingError(code=self.code, message=self.message)
