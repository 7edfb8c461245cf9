"""Settings: shipped defaults, then a deployment's TOML file, then the environment.

Nothing is read at import time. ``load()`` returns a frozen ``Settings``; the engine's
bootstrap is its only caller outside tests.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from gettext import gettext as _  # the catalog engine/i18n.py binds; English until it does

CONFIG_DIR = Path(__file__).resolve().parent
DEFAULTS_FILE = CONFIG_DIR / "settings.toml"
OPD_FILE = CONFIG_DIR / "opd.csv"
WILAYAH_FILE = CONFIG_DIR / "wilayah.csv"
DELINEATION_FILE = CONFIG_DIR / "ikn-delineation.csv"

# Environment variable -> (section, key[, type]); they override the files.
ENV_OVERRIDES = {
    "TKKSD_DATABASE_URL": ("general", "database_url"),
    "TKKSD_HOME": ("general", "home"),
    "TKKSD_TIMEZONE": ("general", "timezone"),
    "TKKSD_LANGUAGE": ("general", "language"),
    "TKKSD_MAIL_TRANSPORT": ("mail", "transport"),
    "TKKSD_SMTP_HOST": ("smtp", "host"),
    "TKKSD_SMTP_PORT": ("smtp", "port"),
    "TKKSD_SMTP_SECURITY": ("smtp", "security"),
    "TKKSD_SMTP_USERNAME": ("smtp", "username"),
    "TKKSD_SMTP_CAFILE": ("smtp", "cafile"),
}


class SettingsError(ValueError):
    """A configuration file or value that cannot be used."""


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(_("the configuration file {path} does not exist").format(path=path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(_("the configuration file {path} is not valid TOML: {problem}").format(path=path, problem=exc)) from None


@dataclass(frozen=True)
class Settings:
    data: Mapping[str, Any]
    secrets: Mapping[str, str]  # kept apart so that printing settings never shows them
    cwd: Path

    def section(self, name: str) -> Mapping[str, Any]:
        return self.data.get(name, {})

    def get(self, section: str, key: str, default: Any = None) -> Any:
        return self.section(section).get(key, default)

    @property
    def home(self) -> Path:
        # The rule (deployment folder, else the user's data folder): config/home.py.
        from config.home import resolve_home

        return resolve_home(self.get("general", "home", "") or "", self.cwd)

    @property
    def database_url(self) -> str:
        url = self.get("general", "database_url") or ""
        return url or f"sqlite:///{self.home / 'tkksd.db'}"

    @property
    def timezone(self) -> str:
        return self.get("general", "timezone", "Asia/Makassar")

    @property
    def language(self) -> str:
        return self.get("general", "language", "id")

    @property
    def maildir(self) -> Path:
        from config.home import is_system_mail_spool

        path = Path(self.get("mail", "maildir", "mail"))
        path = path if path.is_absolute() else self.home / path
        if is_system_mail_spool(path):
            raise SettingsError(_("the Maildir would be {path}, the system's mail spool; set TKKSD_HOME or mail.maildir elsewhere")
                                .format(path=path))
        return path

    @property
    def opd_file(self) -> Path:
        path = self.get("general", "opd_directory") or ""
        if not path:
            return OPD_FILE
        p = Path(path)
        return p if p.is_absolute() else self.cwd / p

    def _config_file(self, key: str, default: Path) -> Path:
        path = self.get("general", key) or ""
        if not path:
            return default
        p = Path(path)
        return p if p.is_absolute() else self.cwd / p

    @property
    def wilayah_file(self) -> Path:
        return self._config_file("wilayah_file", WILAYAH_FILE)

    @property
    def delineation_file(self) -> Path:
        return self._config_file("ikn_delineation", DELINEATION_FILE)

    def paths(self, key: str) -> tuple[str, ...]:
        out = []
        for p in self.get("general", key, []) or []:
            path = Path(p)
            out.append(str(path if path.is_absolute() else self.cwd / path))
        return tuple(out)

    def deadline_days(self, setting: str) -> Any:
        return self.section("deadlines").get(setting)


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(_("the time zone (TKKSD_TIMEZONE or general.timezone) '{name}' is not a time zone; Kukar's is "
                              "Asia/Makassar").format(name=name)) from None


def load(environ: Mapping[str, str] | None = None, path: str | Path | None = None, cwd: Path | None = None) -> Settings:
    """Defaults, then ``path`` (or $TKKSD_CONFIG, or ./tkksd.toml when present), then the environment."""
    environ = os.environ if environ is None else environ
    cwd = cwd or Path.cwd()
    data = _read(DEFAULTS_FILE)
    chosen = path or environ.get("TKKSD_CONFIG")
    if chosen:
        data = _merge(data, _read(Path(chosen)))
    elif (cwd / "tkksd.toml").exists():
        data = _merge(data, _read(cwd / "tkksd.toml"))
    for var, (section, key) in ENV_OVERRIDES.items():
        if environ.get(var):
            value: Any = environ[var]
            if key == "port":
                try:
                    value = int(value)
                except ValueError:
                    raise SettingsError(_("{variable} must be a port number, not '{value}'").format(variable=var, value=value)) from None
            data.setdefault(section, {})[key] = value
    secrets = {}
    if environ.get("TKKSD_SMTP_PASSWORD"):
        secrets["smtp_password"] = environ["TKKSD_SMTP_PASSWORD"]
    else:
        pw_file = data.get("smtp", {}).get("password_file") or environ.get("TKKSD_SMTP_PASSWORD_FILE")
        if pw_file:
            try:
                secrets["smtp_password"] = Path(pw_file).read_text().strip()
            except OSError as exc:
                raise SettingsError(_("cannot read the SMTP password file {path}: {reason}").format(path=pw_file, reason=exc.strerror)) from None
    language = str(data.get("general", {}).get("language") or "id").strip().lower()
    if language not in ("id", "en"):
        raise SettingsError(_("the language (TKKSD_LANGUAGE or general.language) must be 'id' or 'en', not '{value}'").format(
            value=data["general"]["language"]))
    data["general"]["language"] = language
    _check_timezone(data.get("general", {}).get("timezone") or "Asia/Makassar")
    return Settings(data, secrets, cwd)
