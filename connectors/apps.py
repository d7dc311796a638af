from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Connections"

    def ready(self) -> None:
        from connectors.base.http import token_provider_set
        from connectors.oauth import connection_access_token

        token_provider_set(connection_access_token)  # API sessions ask the OAuth store
