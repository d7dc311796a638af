from django.apps import AppConfig


class SyncsConfig(AppConfig):
    name = "syncs"
    verbose_name = "Sync"

    def ready(self) -> None:
        from connectors.base.http import activity_hook_add
        from connectors.base.pushed import pushed_engine_set
        from syncs import heartbeat
        from syncs.pushed import Engine

        pushed_engine_set(Engine())  # the Web Connector's answers go into the inbox

        # A worker waiting on a vendor (a rate limit, a slow answer) is still alive.
        activity_hook_add(heartbeat.beat)
