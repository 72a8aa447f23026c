"""Celery tasks for accounts: take ids, call one service."""

from __future__ import annotations

from celery import shared_task

from . import services


# Retried with backoff when the provider fails (the notice is not in the outbox: see
# services.sign_up_notice_send and docs/security.md, "Sign-up enumeration").
@shared_task(
    name=services.SIGN_UP_NOTICE_TASK,
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def send_sign_up_notice(user_id: str, notice_id: str) -> None:
    services.sign_up_notice_send(user_id=user_id, notice_id=notice_id)
