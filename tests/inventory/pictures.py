"""Open what tkksd writes with the programs people use, and look at the result as pictures or pages.

Chromium takes screenshots of HTML (letters, digests, the report), LibreOffice converts XLSX
to PDF as it would print it, poppler turns PDF pages into PNGs and gives the words with their
boxes (to check sizes). The PNGs are kept under ``var/test-artifacts/`` to be looked at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts"
PNG = b"\x89PNG\r\n\x1a\n"


def keep(path: Path, name: str) -> Path:
    """Copy a picture to the artifacts folder under ``name``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / name
    shutil.copyfile(path, target)
    return target


def screenshot(chromium: str, html_file: Path, png: Path, profile: Path, *, size: str = "900,1300") -> Path:
    proc = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--hide-scrollbars", f"--screenshot={png}", f"--window-size={size}", html_file.as_uri()],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert png.read_bytes()[:8] == PNG
    return png


def pdf_pages(pdftoppm: str, pdf: Path, prefix: Path, *, first: int = 1, last: int = 3, dpi: int = 60) -> list[Path]:
    proc = subprocess.run([pdftoppm, "-r", str(dpi), "-png", "-f", str(first), "-l", str(last), str(pdf), str(prefix)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    pages = sorted(prefix.parent.glob(prefix.name + "-*.png"))
    assert pages and all(p.read_bytes()[:8] == PNG for p in pages)
    return pages


def office_to_pdf(soffice: str, document: Path, outdir: Path, profile: Path) -> Path:
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
         "--outdir", str(outdir), str(document)],
        capture_output=True, text=True, timeout=300,
    )
    pdf = outdir / (document.stem + ".pdf")
    assert proc.returncode == 0 and pdf.exists(), proc.stderr[-2000:] + proc.stdout[-2000:]
    return pdf


def office_convert(soffice: str, document: Path, outdir: Path, profile: Path, fmt: str) -> Path:
    [out] = office_convert_all(soffice, [document], outdir, profile, fmt)
    return out


def office_convert_all(soffice: str, documents: list[Path], outdir: Path, profile: Path, fmt: str) -> list[Path]:
    """Several documents converted by one LibreOffice run (its start is most of the time)."""
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", fmt,
         "--outdir", str(outdir), *map(str, documents)],
        capture_output=True, text=True, timeout=300,
    )
    outs = [outdir / (document.stem + "." + fmt.split(":")[0]) for document in documents]
    assert proc.returncode == 0 and all(out.exists() for out in outs), proc.stderr[-2000:] + proc.stdout[-2000:]
    return outs


@dataclass(frozen=True)
class Word:
    page: int
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def pdf_words(pdftoppm: str, pdf: Path) -> list[Word]:
    """Every word of the PDF with its box in points (poppler's ``pdftotext -bbox``)."""
    pdftotext = str(Path(pdftoppm).with_name("pdftotext"))
    out = subprocess.run([pdftotext, "-bbox", str(pdf), "-"], capture_output=True, text=True, timeout=180, check=True).stdout
    words, page = [], 0
    for line in out.splitlines():
        if "<page " in line:
            page += 1
        m = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*)</word>', line)
        if m:
            words.append(Word(page, m.group(5), *(float(m.group(i)) for i in range(1, 5))))
    return words


def pdf_page_sizes(pdftoppm: str, pdf: Path) -> list[tuple[float, float]]:
    pdfinfo = str(Path(pdftoppm).with_name("pdfinfo"))
    out = subprocess.run([pdfinfo, "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True, check=True).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", out)]


def ink_share(png: Path) -> float:
    """The share of a picture's pixels that are not white: a blank page is 0."""
    from PIL import Image

    with Image.open(png) as im:
        grey = im.convert("L")
        histogram = grey.histogram()
    return 1 - sum(histogram[246:]) / sum(histogram)
