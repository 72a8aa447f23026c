from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging: secure threads with the care team"

    def ready(self) -> None:
        from carecore.accounts.unread import register_unread_counter

        from .selectors import unread_total

        # /api/v1/me/ `unread_count` includes unread messages.
        register_unread_counter(unread_total)
