"""Backends that fail, for the retry tests."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence

import psycopg
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


class ConnectionKillingEmailBackend(BaseEmailBackend):
    """Accepts the message, then ends this process's database connection from another one, as
    a database restart would between a send and its record."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        from django.db import connection

        pid = connection.connection.info.backend_pid
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            # With a timeout, it returns once the backend is gone (not merely signalled).
            other.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
        return len(email_messages)
