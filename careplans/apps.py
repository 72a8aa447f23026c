from django.apps import AppConfig


class CarePlansConfig(AppConfig):
    name = "careplans"
    verbose_name = "Care plans: goals, activities, check-ins and the pre-visit summary"

    def ready(self) -> None:
        # Subscribe to intake's hooks (intake knows nothing of care plans).
        from . import receivers  # noqa: F401
