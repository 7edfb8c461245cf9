"""The report as an A4 PDF: WeasyPrint renders the printable HTML page (its @page rules give
the size, margins, page numbers and page breaks). Where WeasyPrint cannot be loaded, Debian's
Chromium prints the same page headless, if it is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from engine.errors import ConfigurationError
from engine.i18n import _


def write(html: str, path: str | Path) -> str:
    """Write ``html`` as a PDF to ``path``; returns the renderer used (``weasyprint`` or ``chromium``)."""
    path = Path(path)
    try:
        from weasyprint import HTML
    except (ImportError, OSError):  # OSError: WeasyPrint present but the Pango library is missing
        HTML = None
    if HTML is not None:
        HTML(string=html).write_pdf(str(path))
        return "weasyprint"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise ConfigurationError(_("Writing a PDF needs WeasyPrint (pip install weasyprint) or Chromium "
                                   "(apt-get install chromium); --format html writes the same report for a browser."))
    _print_with_chromium(chromium, html, path)
    return "chromium"


def _print_with_chromium(chromium: str, html: str, path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="tkksd-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        proc = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={Path(tmp) / 'profile'}",
             "--no-pdf-header-footer", f"--print-to-pdf={path.resolve()}", page.as_uri()],
            capture_output=True, text=True, timeout=180,
        )
        if proc.returncode != 0 or not path.exists():
            raise ConfigurationError(_("Chromium could not print the report to PDF: {reason}").format(
                reason=proc.stderr.strip()[-300:]))
