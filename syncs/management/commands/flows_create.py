"""`manage.py flows_create --source NAME --target NAME`: every flow that has defaults between
two connections (`syncs.defaults`), created with its default mappings; flows already there are
left as they are. Prints one line per flow."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.models import Connection
from syncs.defaults import DEFAULT_FLOWS
from syncs.models import SyncFlow
from syncs.services import flow_create_with_defaults


def _connection(name: str) -> Connection:
    found = list(Connection.objects.filter(name=name)[:2])
    if len(found) != 1:
        raise CommandError(f"{len(found) or 'No'} connections are named {name!r}.")
    return found[0]


class Command(BaseCommand):
    help = "Create the default flows between two connections."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", required=True, help="The source connection's name.")
        parser.add_argument("--target", required=True, help="The target connection's name.")

    def handle(self, *args: Any, **options: Any) -> None:
        source, target = _connection(options["source"]), _connection(options["target"])
        pairs = [
            (source_entity, target_entity)
            for (s, source_entity, t, target_entity) in DEFAULT_FLOWS
            if (s, t) == (source.system, target.system)
        ]
        if not pairs:
            raise CommandError(f"No default flows from {source} to {target}.")
        for source_entity, target_entity in pairs:
            name = f"{source.name} {source_entity} -> {target.name} {target_entity}"
            kept = SyncFlow.objects.filter(
                source=source,
                source_entity=source_entity,
                target=target,
                target_entity=target_entity,
            ).first()
            if kept is not None:
                self.stdout.write(f"kept {kept.name}")
                continue
            flow = flow_create_with_defaults(
                name=name,
                source=source,
                target=target,
                source_entity=source_entity,
                target_entity=target_entity,
            )
            self.stdout.write(f"created {flow.name}")
