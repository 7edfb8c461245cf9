"""Fixtures of the wilayah tests: LibreOffice headless, which opens the OIKN export."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import IN_CI


@pytest.fixture
def libreoffice():
    """Path to LibreOffice's `soffice`; skips locally when absent, fails in CI."""
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if not path:
        if IN_CI:
            pytest.fail("LibreOffice is not installed; .ci/run installs Debian's libreoffice-calc")
        pytest.skip("LibreOffice is not installed (apt-get install -y libreoffice-calc)")
    return path
