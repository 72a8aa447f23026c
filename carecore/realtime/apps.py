from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "carecore.realtime"
    label = "realtime"
    verbose_name = "Real-time events"
