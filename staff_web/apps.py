from django.apps import AppConfig


class StaffWebConfig(AppConfig):
    name = "staff_web"
    verbose_name = "Care-team workspace pages"
