from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "carecore.accounts"
    label = "accounts"
    verbose_name = "Accounts and care teams"

    def ready(self) -> None:
        # Register the Celery tasks in every process (web included): services publish the
        # sign-up notice task by name rather than importing tasks.py, which imports services.
        from . import tasks  # noqa: F401
