from django.apps import AppConfig


class SyncsConfig(AppConfig):
    name = "syncs"
    verbose_name = "Sync"

    def ready(self) -> None:
        from connectors.base.http import activity_hook_add
        from syncs import heartbeat

        # A worker waiting on a vendor (a rate limit, a slow answer) is still alive.
        activity_hook_add(heartbeat.beat)
