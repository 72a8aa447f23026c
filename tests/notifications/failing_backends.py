"""Backends that fail, for the retry tests."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend


class DisconnectingEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class RefusingEmailBackend(BaseEmailBackend):
    """An SMTP server refusing the recipient: smtplib's error quotes the address."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        refused = {
            address: (550, f"5.1.1 <{address}>: Recipient address rejected".encode())
            for message in email_messages
            for address in message.to
        }
        raise smtplib.SMTPRecipientsRefused(refused)


class BouncingDataEmailBackend(BaseEmailBackend):
    """An SMTP server refusing the message body, quoting the recipient in its reply."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        address = email_messages[0].to[0]
        raise smtplib.SMTPDataError(554, f"5.7.1 Message to {address} rejected".encode())
