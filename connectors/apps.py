from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Connections"

    def ready(self) -> None:
        from connectors.base.http import call_budget_set, token_provider_set
        from connectors.oauth import connection_access_token
        from connectors.quota import shared_budget

        token_provider_set(connection_access_token)  # API sessions ask the OAuth store
        call_budget_set(shared_budget)  # and count their calls together
