"""The email policy every notice is built and serialised with.

It is ``email.policy.default`` (same class, same defaults) with two changes, each for a
measured reason:

- Header lines fold only beyond RFC 5322's hard limit of 998 octets. Python 3.11's folder
  leaves a space at the end of a line it breaks before an encoded word, which reads back as
  a doubled space ("IKN  — ketahanan pangan"); subjects rarely need folding at all. Body
  lines up to 998 octets also stay readable 8bit instead of being base64-encoded.
- A header factory that makes each header class once. The standard ``HeaderRegistry``
  builds a brand-new class with ``type()`` for every header it parses (about 10 µs each,
  15 headers per notice); the classes it builds are identical, so they are cached. The
  structural MIME headers every notice repeats (``Content-Type: text/plain;
  charset="utf-8"``, ``Content-Transfer-Encoding: 8bit``, ...) are parsed once too: header
  objects are immutable, so one parse can serve every message, and so can one folding of
  it when the message is serialised.

Together they make building and serialising a notice about 2.5 times as fast.
"""

from __future__ import annotations

from email.headerregistry import BaseHeader, HeaderRegistry
from email.policy import EmailPolicy


# Headers whose values repeat from message to message (Date: within the same second of a
# batch); everything else (Subject, Message-ID, ...) is unique and not worth remembering.
_REPEATING = frozenset({"content-type", "content-transfer-encoding", "mime-version", "auto-submitted", "date"})
_MEMO_LIMIT = 256


class CachingHeaderRegistry(HeaderRegistry):
    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}
        self._parsed: dict[tuple[str, str], BaseHeader] = {}

    def __call__(self, name: str, value: object) -> BaseHeader:
        if type(value) is not str or name.lower() not in _REPEATING:
            return super().__call__(name, value)
        key = (name, value)
        header = self._parsed.get(key)
        if header is None:
            if len(self._parsed) >= _MEMO_LIMIT:
                self._parsed.clear()  # boundaries make some values unique; stay bounded
            header = self._parsed[key] = super().__call__(name, value)
            share(header)
        return header

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls

    def map_to_type(self, name: str, cls: type[BaseHeader]) -> None:
        super().map_to_type(name, cls)
        self._classes.pop(name.lower(), None)
        self._parsed.clear()


def share(header: BaseHeader) -> BaseHeader:
    """Mark a header object as reused by many messages, so its folding is remembered."""
    header.__dict__.setdefault("_folded", {})
    return header


class MailPolicy(EmailPolicy):
    """``EmailPolicy`` that remembers how it folded a header object shared by many messages."""

    def fold(self, name: str, value: object) -> str:
        return self._remembered("str", name, value, super().fold)

    def fold_binary(self, name: str, value: object) -> bytes:
        return self._remembered("bytes", name, value, super().fold_binary)

    def _remembered(self, kind: str, name: str, value: object, fold):
        folds = getattr(value, "_folded", None)
        if folds is None or getattr(value, "name", None) != name:
            return fold(name, value)
        # Everything folding depends on; the memo lives on the header object and dies with it.
        key = (kind, self.linesep, self.max_line_length, self.utf8, self.cte_type, self.refold_source)
        folded = folds.get(key)
        if folded is None:
            folded = folds[key] = fold(name, value)
        return folded


MAIL_POLICY = MailPolicy(max_line_length=998, header_factory=CachingHeaderRegistry())
