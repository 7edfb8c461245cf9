"""What no mail may say: the checks of "time that tells the truth", over rendered mails.

* no negative number of days ("berakhir dalam -365 hari", "selama -3 hari");
* nothing asked "paling lambat" (by) a date before the day the mail is sent;
* no evaluation opened for an agreement that expires in the same pass.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Iterable

MONTHS = {m: i + 1 for i, m in enumerate(
    ("januari", "februari", "maret", "april", "mei", "juni", "juli", "agustus", "september", "oktober",
     "november", "desember"))}
MONTHS_EN = {m: i + 1 for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"))}
NEGATIVE_DAYS = re.compile(r"(?<![\w.])-\s?\d+\s+(hari|days?)\b", re.IGNORECASE)
BY_DATE = re.compile(r"(paling lambat|no later than)\s+(?:\w+,\s+)?(\d{1,2})\s+([A-Za-z]+)\s+(\d{4})", re.IGNORECASE)


@dataclass(frozen=True)
class Mail:
    kind: str
    agreement: str | None
    sent_on: date  # local day the mail was written (the pass)
    text: str  # subject and plain-text body
    pass_id: object = None  # mails of one daemon pass share it


def by_dates(text: str) -> list[date]:
    out = []
    for _, day, month, year in BY_DATE.findall(text):
        m = MONTHS.get(month.lower()) or MONTHS_EN.get(month.lower())
        if m:
            out.append(date(int(year), m, int(day)))
    return out


def problems(mails: Iterable[Mail]) -> list[str]:
    mails = list(mails)
    found = []
    for m in mails:
        neg = NEGATIVE_DAYS.search(m.text)
        if neg:
            found.append(f"{m.kind} {m.agreement}: negative days '{neg.group(0)}'")
        for d in by_dates(m.text):
            if d < m.sent_on:
                found.append(f"{m.kind} {m.agreement}: asks 'by' {d} in a mail sent {m.sent_on}")
    opened = {(m.pass_id, m.agreement) for m in mails if m.kind == "evaluation_opened"}
    expired = {(m.pass_id, m.agreement) for m in mails if m.kind == "expired"}
    for pass_id, number in sorted(opened & expired, key=str):
        found.append(f"{number}: evaluation opened and expired in the same pass ({pass_id})")
    return found


def kinds(mails: Iterable[Mail]) -> Counter:
    return Counter(m.kind for m in mails)
