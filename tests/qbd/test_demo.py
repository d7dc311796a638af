"""The demo `make run` seeds for QuickBooks Desktop: a newcomer's first minute. The Web
Connector's schedule runs the session over HTTP, and its customers, products and deals reach
the CRM."""

from __future__ import annotations

import pytest

from connectors.qbd.models import QbwcSession
from connectors.sandbox.qbd.demo import QBD_CONNECTION, demo_qbd_ensure
from connectors.sandbox.qbd.models import SandboxQbRecord, SandboxWcApp
from connectors.sandbox.qbd.webconnector import apps_due_run
from connectors.sandbox.zoho.models import CrmRecord
from syncs.live import inbox_drain

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_runs_a_session_and_fills_the_crm_and_a_second_seed_changes_nothing(
    base_url, crm, crm_org
):
    said = demo_qbd_ensure(crm=crm)
    assert [action for _, action, _ in said] == ["created"] * 6

    assert apps_due_run() == 1
    assert apps_due_run() == 0, "the next one is due in a minute"
    inbox_drain()

    session = QbwcSession.objects.get(company__connection__name=QBD_CONNECTION)
    assert session.status == "done" and session.progress == 100
    customers = SandboxQbRecord.objects.filter(kind="Customer").count()
    modules = {
        module: CrmRecord.objects.filter(org=crm_org, module=module).count()
        for module in ("Accounts", "Products", "Deals")
    }
    assert modules["Accounts"] == customers
    assert modules["Deals"] == SandboxQbRecord.objects.filter(kind="Invoice").count()
    assert modules["Products"] > 0
    app = SandboxWcApp.objects.get()
    assert app.app_url == f"{base_url}/qbwc/" and app.run_every_minutes == 1

    again = demo_qbd_ensure(crm=crm)
    assert {action for _, action, _ in again} == {"exists"}
