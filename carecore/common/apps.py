from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "carecore.common"
    label = "common"
    verbose_name = "CareCore platform"
