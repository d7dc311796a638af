"""`manage.py qbd_connect --name N --username U --password P --company-file PATH [--crm NAME]`:
a QuickBooks Desktop connection for one company file, its default flows into the named (or the
only) Zoho CRM connection, and its .qwc on standard output, for scripted installs. Everything
else it says goes to standard error, so `> books.qwc` keeps just the file."""

from __future__ import annotations

import sys
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from connectors.models import Connection
from connectors.qbd.models import QbdCompany
from connectors.qbd.qwc import qwc_document


class Command(BaseCommand):
    help = "Connect a QuickBooks Desktop company file and print its .qwc."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--username", required=True, help="The Web Connector's user name.")
        parser.add_argument("--password", required=True, help="The Web Connector's password.")
        parser.add_argument("--company-file", required=True, help=r"e.g. C:\Books\Acme.QBW")
        parser.add_argument("--poll-minutes", type=int, default=5)
        parser.add_argument("--crm", help="The Zoho CRM connection (default: the only one).")

    def handle(self, *args: Any, **options: Any) -> None:
        crm = self._crm(options.get("crm"))
        if QbdCompany.objects.filter(username=options["username"]).exists():
            raise CommandError(f"The Web Connector user {options['username']!r} is taken.")
        if Connection.objects.filter(name=options["name"]).exists():
            raise CommandError(f"A connection named {options['name']!r} exists already.")
        with transaction.atomic():
            connection = Connection.objects.create(
                system=Connection.System.QBD,
                name=options["name"],
                status=Connection.Status.CONNECTED,
            )
            company = QbdCompany(
                connection=connection,
                username=options["username"],
                company_file=options["company_file"],
                poll_minutes=options["poll_minutes"],
            )
            company.set_password(options["password"])
            company.save()
        if crm is not None:
            said = StringIO()
            call_command("flows_create", source=connection.name, target=crm.name, stdout=said)
            sys.stderr.write(said.getvalue())
        self.stdout.write(qwc_document(company), ending="")

    def _crm(self, name: str | None) -> Connection | None:
        crms = Connection.objects.filter(system=Connection.System.ZOHO_CRM)
        if name:
            crms = crms.filter(name=name)
        found = list(crms[:2])
        if name and not found:
            raise CommandError(f"No Zoho CRM connection is named {name!r}.")
        if len(found) > 1:
            raise CommandError("Several Zoho CRM connections: name one with --crm.")
        return found[0] if found else None
