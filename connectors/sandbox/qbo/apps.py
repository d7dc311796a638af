from django.apps import AppConfig


class SandboxQboConfig(AppConfig):
    name = "connectors.sandbox.qbo"
    label = "sandbox_qbo"
    verbose_name = "Sandbox: QuickBooks Online"
