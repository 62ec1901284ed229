from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from sohoa.config import Settings  # noqa: E402
from sohoa.services import Services, build_services  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", api_key="test-key")


@pytest.fixture
def svc(settings: Settings) -> Iterator[Services]:
    services = build_services(settings)
    yield services
    services.close()  # OCR worker processes, if a test started them


def tool_missing(reason: str) -> None:
    """Skip a test whose system tool is absent; under `.ci/run` (SOHOA_CI=1), where every tool is
    installed on purpose, fail instead, so a missing install step cannot pass as a skip."""
    if os.environ.get("SOHOA_CI"):
        pytest.fail(f"{reason} (required under .ci/run)")
    pytest.skip(reason)


def shared_or_skip(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not present (the shared samples are optional)")
    return path
