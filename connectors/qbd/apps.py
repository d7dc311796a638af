from django.apps import AppConfig


class QbdConfig(AppConfig):
    name = "connectors.qbd"
    label = "qbd"
    verbose_name = "QuickBooks Desktop"
