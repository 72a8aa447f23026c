from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "carecore.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Register the Celery tasks in every process (web included): services publish the
        # delivery task by name rather than importing tasks.py, which imports services.
        from . import tasks  # noqa: F401
