"""Fixtures for the mail tests: aiosmtpd servers, trustme certificates, a context whose
settings point at them."""

from __future__ import annotations

import pytest

from .smtpd import Recorder, SmtpServer


@pytest.fixture(scope="session")
def ca():
    import trustme

    return trustme.CA()


@pytest.fixture
def server_tls(ca):
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


@pytest.fixture
def ca_file(ca, tmp_path):
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def smtpd():
    """Start servers: ``smtpd(recorder=None, **SmtpServer options) -> SmtpServer``; stopped after."""
    started = []

    def start(recorder: Recorder | None = None, **options) -> SmtpServer:
        server = SmtpServer(recorder or Recorder(), **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def write_settings(path, sections: dict) -> None:
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, (int, float)):
                text = str(value)
            else:
                text = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
            lines.append(f"{key} = {text}")
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def mail_ctx(env, tmp_path):
    """``mail_ctx(sections, **environ) -> Context`` with those settings (a TOML in TKKSD_CONFIG)."""
    from engine.bootstrap import bootstrap

    made = []

    def make(sections: dict | None = None, **environ: str):
        path = tmp_path / f"tkksd-{len(made)}.toml"
        write_settings(path, sections or {})
        env["TKKSD_CONFIG"] = str(path)
        env.update(environ)
        ctx = bootstrap(env)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.engine.dispose()


def smtp_sections(server: SmtpServer, security: str = "none", **smtp) -> dict:
    return {
        "mail": {"transport": "smtp", "backoff_base_seconds": 60, "max_attempts": 4},
        "smtp": {"host": "127.0.0.1", "port": server.port, "security": security, "timeout_seconds": 5,
                 "connect_timeout_seconds": 5, **smtp},
    }
