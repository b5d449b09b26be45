"""Logging without credentials: invite tokens, API tokens, signed links and URL passwords are
redacted from every record before any handler writes it (access log and application log)."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

REDACTED = "[redacted]"
_PATTERNS = [
    # The invite token is a candidate's only credential: /take/<token>, /api/v1/take/<token>/...,
    # /ws/take/<token>, alone or in a full URL (and not /static/js/take/...).
    (
        re.compile(r"((?:^|[\s\"'(=])(?:[a-z]+://[^/\s\"']+)?(?:/api/v1|/ws)?/take/)[^/?#\s\"']+"),
        rf"\1{REDACTED}",
    ),
    # API tokens and webhook signing secrets, wherever they appear.
    (re.compile(r"\b(opk_|whsec_)[A-Za-z0-9_+/=-]+"), rf"\1{REDACTED}"),
    (re.compile(r"\b(Bearer\s+)[^\s\"']+", re.IGNORECASE), rf"\1{REDACTED}"),
    # Signed or one-time links: the signature or token in the query string.
    (
        re.compile(
            r"([?&](?:signature|token|access_token|api_key|secret|password|"
            r"x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&#\s\"']+",
            re.IGNORECASE,
        ),
        rf"\1{REDACTED}",
    ),
    # A password in a URL (redis://:password@host, postgresql://user:password@host).
    (
        re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@\"']*:)[^/\s@\"']+@", re.IGNORECASE),
        rf"\1{REDACTED}@",
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_arg(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, BaseException):
        # An error's text may quote a URL (a webhook's, a database's).
        text = str(value)
        cleaned = redact(text)
        return value if cleaned == text else f"{type(value).__name__}: {cleaned}"
    return value


class RedactCredentials(logging.Filter):
    """Rewrites the record in place (message, arguments and traceback), so that every handler
    after it, and formatters that read the arguments (uvicorn's access log), see no secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(value) for value in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redact_arg(value) for key, value in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's logging setup with the filter on every handler, and the application's own
    loggers (openproctor.*) written through it too."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": RedactCredentials}}
    config["formatters"]["application"] = {
        "()": "uvicorn.logging.DefaultFormatter",
        "fmt": "%(levelprefix)s %(name)s: %(message)s",
    }
    config["handlers"]["application"] = {
        "formatter": "application",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["loggers"]["openproctor"] = {
        "handlers": ["application"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def install_redaction() -> None:
    """Puts the filter on the handlers already configured (by a server that embeds the app, or
    by basicConfig), including the last-resort handler used when there are none."""
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.access", "openproctor")]
    handlers = [handler for logger in loggers for handler in logger.handlers]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if not any(isinstance(f, RedactCredentials) for f in handler.filters):
            handler.addFilter(RedactCredentials())
