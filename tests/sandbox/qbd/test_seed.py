"""The seed makes a plausible company file quickly: Latin-1 names, unique per name space,
invoices whose totals add up and whose unpaid balances are their customers' balances."""

from __future__ import annotations

import time
from collections import defaultdict
from decimal import Decimal

import pytest

from connectors.sandbox.qbd import services
from connectors.sandbox.qbd.models import SandboxQbCompany, SandboxQbRecord

pytestmark = pytest.mark.django_db


def test_ten_thousand_customers_and_two_thousand_invoices_take_seconds(
    company: SandboxQbCompany,
) -> None:
    started = time.perf_counter()
    made = services.company_seed(company, customers=10_000, items=25, invoices=2_000)
    elapsed = time.perf_counter() - started

    assert made == {"customers": 10_000, "items": 25, "invoices": 2_000}
    assert elapsed < 60, f"seeding took {elapsed:.1f} s"
    names = list(
        SandboxQbRecord.objects.filter(company=company, kind="Customer").values_list(
            "name", flat=True
        )
    )
    assert len(names) == len({name.lower() for name in names}) == 10_000
    assert {"Café Zürich", "Müller & Söhne"} <= set(names)
    assert all(len(name) <= 41 and all(ord(char) < 256 for char in name) for name in names)


def test_seeded_balances_are_the_unpaid_invoices(company: SandboxQbCompany) -> None:
    services.company_seed(company, customers=20, items=5, invoices=60, seed=3)

    owed: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in SandboxQbRecord.objects.filter(company=company, kind="Invoice"):
        lines = invoice.data["InvoiceLineRet"]
        assert sum(Decimal(line["Amount"]) for line in lines) == Decimal(invoice.data["Subtotal"])
        owed[invoice.data["CustomerRef"]["ListID"]] += Decimal(invoice.data["BalanceRemaining"])
        assert invoice.time_created <= invoice.time_modified
    for customer in SandboxQbRecord.objects.filter(company=company, kind="Customer"):
        assert Decimal(customer.data["Balance"]) == owed[customer.record_id]


def test_a_second_seed_adds_new_records_beside_the_first(company: SandboxQbCompany) -> None:
    services.company_seed(company, customers=10, items=10, invoices=5)
    services.company_seed(company, customers=10, items=10, invoices=5)

    records = SandboxQbRecord.objects.filter(company=company)
    assert records.count() == 50
    assert records.values("record_id").distinct().count() == 50
    items = records.exclude(kind__in=["Customer", "Invoice"]).values_list("name", flat=True)
    assert len({name.lower() for name in items}) == 20
    refs = records.filter(kind="Invoice").values_list("name", flat=True)
    assert sorted(refs) == [str(number) for number in range(1001, 1011)]
