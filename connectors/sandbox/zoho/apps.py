from django.apps import AppConfig


class SandboxZohoConfig(AppConfig):
    name = "connectors.sandbox.zoho"
    label = "sandbox_zoho"
    verbose_name = "Sandbox: Zoho"
