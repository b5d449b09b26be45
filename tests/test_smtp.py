"""The mail server settings and the one call that sends: a message reaches a real SMTP
server; a refusal, and a server that is not there, come back as MailError in plain words."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest

from openproctor.settings import SettingsError, load_settings
from openproctor.smtp import MailError, SmtpSettings, send
from tests.mailbox import SENDER, Mailbox, body_of
from tests.servers import free_port


def note(to: str = "ada@example.com") -> EmailMessage:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = "Hello"
    message.set_content("Grüße")
    return message


def test_a_message_reaches_the_server(mailbox: Mailbox) -> None:
    send(mailbox.settings, note())
    [received] = mailbox.wait_for(1)
    assert (received["To"], received["Subject"], body_of(received)) == (
        "ada@example.com",
        "Hello",
        "Grüße\n",
    )


def test_a_refusal_is_an_error_with_the_servers_words(mailbox: Mailbox) -> None:
    mailbox.refuse = "550 5.1.1 Mailbox unavailable"
    with pytest.raises(MailError, match=r"550 5\.1\.1 Mailbox unavailable"):
        send(mailbox.settings, note())


def test_no_server_is_an_error_naming_it() -> None:
    port = free_port()
    settings = SmtpSettings(host="127.0.0.1", port=port, starttls=False, sender=SENDER)
    with pytest.raises(
        MailError, match=re.escape(f"cannot reach the mail server 127.0.0.1:{port}")
    ):
        send(settings, note())


def test_starttls_against_a_server_without_it_fails_clearly(mailbox: Mailbox) -> None:
    settings = mailbox.settings.model_copy(update={"starttls": True})
    with pytest.raises(MailError, match="STARTTLS"):
        send(settings, note())


def test_the_settings_come_from_the_environment_and_need_a_sender(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("OPENPROCTOR_SMTP__HOST", "mail.example.org")
    monkeypatch.setenv("OPENPROCTOR_SMTP__PORT", "2525")
    monkeypatch.setenv("OPENPROCTOR_SMTP__FROM", SENDER)
    settings = load_settings(data_dir=tmp_path)
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.sender) == (
        "mail.example.org",
        2525,
        SENDER,
    )
    assert settings.smtp.configured
    monkeypatch.delenv("OPENPROCTOR_SMTP__FROM")
    with pytest.raises(SettingsError, match="OPENPROCTOR_SMTP__FROM must be set"):
        load_settings(data_dir=tmp_path)
    monkeypatch.delenv("OPENPROCTOR_SMTP__HOST")
    assert not load_settings(data_dir=tmp_path).smtp.configured
