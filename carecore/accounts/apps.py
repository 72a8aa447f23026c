from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "carecore.accounts"
    label = "accounts"
    verbose_name = "Accounts and care teams"
