from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo clinic for `make run`. It sits above every app (carecore imports no app), so it
    may call accounts, portal and intake services to build a realistic clinic."""

    name = "demo"
    verbose_name = "Demo data"
