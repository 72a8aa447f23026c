from django.apps import AppConfig


class PatientWebConfig(AppConfig):
    name = "patient_web"
    verbose_name = "Patient portal pages"
