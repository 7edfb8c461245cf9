"""Render a notice kind into a subject, a text body and an HTML body with jinja2.

Templates live in ``<dir>/<lang>/<kind>.subject.j2``, ``<kind>.txt.j2`` and ``<kind>.html.j2``;
deployment folders given to ``Renderer`` are searched before the package's own
``notifiers/templates/``, so an override replaces one file and inherits the rest.
The context each kind needs is documented in ``notifiers/templates/CONTEXT.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from gettext import gettext as _  # the catalog engine/i18n.py binds; English until it does
from pathlib import Path
from typing import Any

import jinja2

from notifiers.addresses import one_line
from notifiers.errors import TemplateError
from notifiers.formatting import DEFAULT_TZ, DEFAULT_TZ_ABBR, tanggal, waktu

PACKAGE_TEMPLATES = Path(__file__).parent / "templates"

KINDS = (
    "transition",
    "reminder",
    "escalation",
    "evaluation_opened",
    "expiry_warning",
    "expired",
    "kb_followup",
    "kb_followup_overdue",
    "contract_due",
    "contribution_due",
    "ikn_decision",
    "digest_opd",
    "digest_chair",
    "incident",
    "mail_outage",
    "mail_test",
    # issue 16
    "dprd_wait",
    "kb_decision",
    "resync_due",
    "evaluation_round",
    "evaluation_round_escalation",
    "contribution_deadline",
)

# A kind or language becomes part of a template path: keep it to plain names.
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
# Spelt out rather than \n{3,}: the counted form scans a letter ten times slower.
_BLANK_LINES = re.compile(r"\n\n\n+")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _autoescape(name: str | None) -> bool:
    # Decided on the whole name: select_autoescape() looks only at the last suffix and would
    # leave "reminder.html.j2" unescaped (pallets/jinja#1890).
    return name is not None and name.endswith((".html.j2", ".html"))


# Names a plain dict answers as attributes (``d.items``): for those jinja's lookup order matters.
_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(jinja2.Environment):
    """jinja2's environment with a quicker ``x.y`` on the plain dicts notices are made of.

    jinja2 tries ``getattr`` first and the key only after an AttributeError; a notice does
    that some eighty times. For a name that is no attribute of a dict the outcome is the key
    either way, so it is looked up directly; everything else takes jinja2's own path.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


class Renderer:
    """Renders notices; one instance holds a compiled-template cache, so keep and reuse it."""

    def __init__(self, template_dirs: Sequence[str | Path] = (), language: str = "id") -> None:
        if not _NAME.fullmatch(language):
            raise TemplateError(_("The language {language!r} is not a plain language code like 'id' or 'en'.").format(
                language=language))
        self.template_dirs = tuple(Path(d) for d in template_dirs)
        self.language = language
        self._env: jinja2.Environment | None = None
        self._globals: dict[str, Any] = {}
        self._compiled: dict[tuple[str, str], tuple[jinja2.Template, ...]] = {}

    @property
    def environment(self) -> jinja2.Environment:
        if self._env is None:
            self._env = self._make_environment()
            self._globals = dict(self._env.globals)
        return self._env

    def render(self, kind: str, context: Mapping[str, Any]) -> Rendered:
        """Render ``kind`` with ``context``; raise TemplateError if a template or a name is missing."""
        lang = context.get("lang") or self.language
        subject_t, text_t, html_t = self._templates(lang, kind)
        env = self.environment
        # One dict of values, the environment's globals included, shared by the three renders:
        # Template.render would merge the globals into a fresh copy for each (a ChainMap walk
        # that costs a sixth of a notice, and a transition renders one in its transaction).
        values = {**self._globals, "tz": DEFAULT_TZ, "tz_abbr": DEFAULT_TZ_ABBR, **context, "lang": lang}
        try:
            subject = one_line(_render(env, subject_t, values))
            text = _tidy_text(_render(env, text_t, values))
            html = _render(env, html_t, values)
        except jinja2.TemplateError as exc:
            raise TemplateError(_("The {kind!r} notice ({lang}) could not be rendered: {problem}").format(
                kind=kind, lang=lang, problem=exc.message)) from exc
        except (ValueError, TypeError, LookupError, AttributeError, ArithmeticError) as exc:
            raise TemplateError(_("The {kind!r} notice ({lang}) could not be rendered: {problem}").format(
                kind=kind, lang=lang, problem=exc)) from exc
        return Rendered(subject, text, html)

    def _templates(self, lang: str, kind: str) -> tuple[jinja2.Template, ...]:
        key = (lang, kind)
        found = self._compiled.get(key)
        if found is None:
            if not (_NAME.fullmatch(lang) and _NAME.fullmatch(kind)):
                raise TemplateError(_("There is no notice template {kind!r} for language {lang!r}.").format(kind=kind, lang=lang))
            env = self.environment
            try:
                found = tuple(env.get_template(f"{lang}/{kind}.{part}.j2") for part in ("subject", "txt", "html"))
            except jinja2.TemplateNotFound as exc:
                raise TemplateError(_("There is no notice template {kind!r} for language {lang!r} ({file} is missing).").format(
                    kind=kind, lang=lang, file=exc.name)) from exc
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateError(_("The template {file} has a syntax error on line {line}: {problem}").format(
                    file=exc.name, line=exc.lineno, problem=exc.message)) from exc
            self._compiled[key] = found
        return found

    def _make_environment(self) -> jinja2.Environment:
        loaders = [jinja2.FileSystemLoader(d) for d in self.template_dirs]
        loaders.append(jinja2.FileSystemLoader(PACKAGE_TEMPLATES))
        env = _Environment(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=jinja2.StrictUndefined,
            autoescape=_autoescape,
            trim_blocks=True,
            lstrip_blocks=True,
            # Templates change with a deployment, not while the daemon runs: skip the
            # per-render stat() of every file.
            auto_reload=False,
        )
        env.filters["tanggal"] = _tanggal_filter
        env.filters["waktu"] = _waktu_filter
        return env


@jinja2.pass_context
def _tanggal_filter(ctx: jinja2.runtime.Context, value: Any, weekday: bool = False) -> str:
    return tanggal(value, ctx.get("lang", "id"), ctx.get("tz", DEFAULT_TZ), weekday=weekday)


@jinja2.pass_context
def _waktu_filter(ctx: jinja2.runtime.Context, value: Any) -> str:
    return waktu(value, ctx.get("lang", "id"), ctx.get("tz", DEFAULT_TZ), ctx.get("tz_abbr", DEFAULT_TZ_ABBR))


def _render(env: jinja2.Environment, template: jinja2.Template, values: dict[str, Any]) -> str:
    """``template.render(values)`` where ``values`` already holds the globals (shared=True:
    the context reads ``values`` as it is, without copying)."""
    return env.concat(template.root_render_func(template.new_context(values, shared=True)))


def _tidy_text(text: str) -> str:
    # Optional sections leave blank runs behind; a plain-text letter reads better without.
    return _BLANK_LINES.sub("\n\n", text).strip() + "\n"
