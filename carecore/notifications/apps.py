from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "carecore.notifications"
    label = "notifications"
    verbose_name = "Notifications"
