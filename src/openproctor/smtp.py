"""The mail server the invitations and reminders go through (OPENPROCTOR_SMTP__*), and the one
function that hands it a message. Nothing is sent while no server is configured."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

# What a failed delivery keeps of the server's words (the roster shows it).
MAX_ERROR_CHARS = 500


class SmtpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    host: str = Field(
        default="",
        title="SMTP host",
        description="The mail server invitations and reminders go through; empty: no e-mail "
        "is sent (the admin pages say so).",
    )
    port: int = Field(default=587, ge=1, le=65535, title="SMTP port")
    username: str = Field(default="", title="SMTP user name", description="Empty: no login.")
    password: SecretStr = Field(default=SecretStr(""), title="SMTP password")
    starttls: bool = Field(
        default=True,
        title="STARTTLS",
        description="Upgrade the connection with STARTTLS before logging in (port 587). "
        "Ignored with TLS.",
    )
    tls: bool = Field(
        default=False, title="Implicit TLS", description="Connect with TLS from the start (465)."
    )
    sender: str = Field(
        default="",
        alias="from",
        title="Sender",
        description='The From address, e.g. "Exams <exams@example.org>". Needed with a host.',
    )
    timeout_s: float = Field(
        default=20.0, gt=0, le=300, title="SMTP timeout", description="Seconds per exchange."
    )

    @model_validator(mode="after")
    def _sender_with_host(self) -> SmtpSettings:
        if self.host and not self.sender:
            raise ValueError("OPENPROCTOR_SMTP__FROM must be set with OPENPROCTOR_SMTP__HOST")
        return self

    @property
    def configured(self) -> bool:
        return bool(self.host)


class MailError(Exception):
    """The message was not accepted; the text says why in the server's or the network's words."""


def send(settings: SmtpSettings, message: EmailMessage) -> None:
    """Hands the message to the configured server; raises MailError when it is not accepted."""
    try:
        _send(settings, message)
    except smtplib.SMTPRecipientsRefused as error:
        reasons = "; ".join(
            f"{to}: {code} {_text(words)}" for to, (code, words) in error.recipients.items()
        )
        raise MailError(_short(f"the mail server refused the address: {reasons}")) from None
    except smtplib.SMTPResponseException as error:
        words = _text(error.smtp_error)
        raise MailError(_short(f"the mail server said {error.smtp_code} {words}")) from None
    except smtplib.SMTPNotSupportedError as error:
        raise MailError(_short(f"the mail server does not support this: {error}")) from None
    except TimeoutError:
        raise MailError(
            f"the mail server {settings.host}:{settings.port} did not answer within "
            f"{settings.timeout_s:g} s"
        ) from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as error:
        raise MailError(
            _short(f"cannot reach the mail server {settings.host}:{settings.port}: {error}")
        ) from None


def _send(settings: SmtpSettings, message: EmailMessage) -> None:
    client: smtplib.SMTP
    if settings.tls:
        client = smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=settings.timeout_s,
            context=ssl.create_default_context(),
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
    with client:
        if settings.starttls and not settings.tls:
            client.starttls(context=ssl.create_default_context())
        if settings.username:
            client.login(settings.username, settings.password.get_secret_value())
        client.send_message(message)


def _text(words: bytes | str) -> str:
    return words.decode("utf-8", "replace") if isinstance(words, bytes) else words


def _short(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
