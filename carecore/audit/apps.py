from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "carecore.audit"
    label = "audit"
    verbose_name = "Audit trail"
