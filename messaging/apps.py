import threading

from django.apps import AppConfig
from django.conf import settings


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging: secure threads with the care team"

    def ready(self) -> None:
        from carecore.accounts.unread import register_unread_counter

        from .selectors import unread_total

        # /api/v1/me/ `unread_count` includes unread messages.
        register_unread_counter(unread_total)
        if settings.CARECORE_TRIAGE_WARM_UP:
            _warm_up_triage()


def _warm_up_triage() -> None:
    """Build the triage pipeline in the background as the process starts.

    Building it takes a second or two on an idle core (several under load). Without this, the
    first patient message a fresh web or worker process screens waits for it, inside the
    request; with it, that message waits only for what is left of the build (the pipeline's
    lock), and usually for nothing. A daemon thread: a short-lived command exits without it.
    """
    from .triage import pipeline

    threading.Thread(target=pipeline, name="triage-warm-up", daemon=True).start()
