from django.apps import AppConfig


class SandboxQbdConfig(AppConfig):
    name = "connectors.sandbox.qbd"
    label = "sandbox_qbd"
    verbose_name = "Sandbox: QuickBooks Desktop and its Web Connector"
