"""Plausible QuickBooks data in bulk: customers with Latin-1 names ("Café Zürich", "Müller &
Söhne"), items of three kinds and a year of invoices. The rows are built in memory and written
with bulk_create, so 10,000 customers and 2,000 invoices take seconds; the same seed always
gives the same records."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction

from connectors.sandbox.qbd.models import SandboxQbCompany, SandboxQbRecord
from connectors.sandbox.qbd.records import (
    CENT,
    Data,
    Line,
    account,
    company_date,
    ids_reserve,
    invoice_data,
    list_id,
    now_seconds,
    txn_id,
)

SPECIAL_NAMES = (
    "Café Zürich",
    "Müller & Söhne",
    "Crème Brûlée Bakery",
    "Ærøskøbing Ferries",
    "José Núñez Imports",
    "Björk & Åberg AB",
    "Façade Restorations",
    "Señora Peña's Tamales",
)


SURNAMES = (  # noqa: SIM905 - one name a line would be 130 lines
    "Müller Schäfer Gómez Dubois Søndergaard Larsen O'Brien Rossi Novák Jäger Fernández Ødegård "
    "Hoffmann Lefèvre García Nilsson Björnsson Kowalczyk Peña Brandão Schröder Weiß Åström "
    "Martín Ibáñez Moreau Thorsen Adams Baker Carter Diaz Evans Foster Grant Hughes Irving "
    "Jensen Keller Lopez Murphy"
).split()


FIRST_NAMES = (  # noqa: SIM905 - one name a line would be 130 lines
    "Anna Jörg Zoë Renée José Chloé Søren Inés Björn Mária Noël François Ana Lukas Emma Liam "
    "Olivia Noah Ava Elijah Mia Lucas Amélie Mateo"
).split()


TRADES = (  # noqa: SIM905 - one name a line would be 130 lines
    "Plumbing Landscaping Bakery Consulting Design Electric Roofing Catering Imports Logistics "
    "Dental Optics Printing Carpentry Florists Motors Brewing Cleaning Studios Partners Tiling "
    "Masonry Painting Upholstery Glassworks Pharmacy Books Coffee Kitchens Security"
).split()


FORMS = ("Inc.", "LLC", "& Co.", "GmbH", "S.A.", "Ltd.", "& Söhne", "AG")


CITIES = (
    ("Zürich", "ZH", "8001", "Switzerland"),
    ("München", "BY", "80331", "Germany"),
    ("Montréal", "QC", "H2Y 1C6", "Canada"),
    ("São Paulo", "SP", "01000-000", "Brazil"),
    ("Málaga", "AN", "29001", "Spain"),
    ("Boston", "MA", "02108", "US"),
    ("Austin", "TX", "78701", "US"),
    ("Portland", "OR", "97201", "US"),
    ("Denver", "CO", "80202", "US"),
    ("Chicago", "IL", "60601", "US"),
)


STREETS = ("Bahnhofstraße", "Rue de la Paix", "Main St", "Elm Ave", "Calle Mayor", "Oak Blvd")


ITEMS = (
    ("ItemService", "Installation", "95.00"),
    ("ItemService", "Consulting Hour", "150.00"),
    ("ItemService", "Maintenance Visit", "120.00"),
    ("ItemService", "Design Fee", "250.00"),
    ("ItemNonInventory", "Gravel (ton)", "45.00"),
    ("ItemNonInventory", "Crème Paint", "32.50"),
    ("ItemNonInventory", "Fertilizer", "18.75"),
    ("ItemInventory", "Garden Pump", "240.00"),
    ("ItemInventory", "Pipe Fitting", "7.25"),
    ("ItemInventory", "Fountain Kit", "499.00"),
)


def company_seed(
    company: SandboxQbCompany,
    *,
    customers: int = 50,
    items: int = 10,
    invoices: int = 20,
    seed: int = 0,
) -> dict[str, int]:
    """Fill a company with plausible customers (Latin-1 names such as "Café Zürich"), items of
    three kinds and invoices over the past year, in bulk: 10,000 customers take seconds. The
    same seed gives the same records; the counts of what was made come back."""
    rng = random.Random(seed)  # noqa: S311 - made-up records, not secrets
    now = now_seconds()
    with transaction.atomic():
        existing = {
            name.lower()
            for name in SandboxQbRecord.objects.filter(company=company).values_list(
                "name", flat=True
            )
        }
        first_list = ids_reserve(company, "list_counter", customers + items)
        item_rows = _seed_items(rng, now, existing, first_list, items)
        customer_rows = _seed_customers(rng, now, existing, first_list + items, customers)
        invoice_rows = _seed_invoices(rng, company, now, customer_rows, item_rows, invoices)
        for row in (*item_rows, *customer_rows, *invoice_rows):
            row.company = company
        SandboxQbRecord.objects.bulk_create([*item_rows, *customer_rows], batch_size=500)
        SandboxQbRecord.objects.bulk_create(invoice_rows, batch_size=500)
    return {"customers": customers, "items": items, "invoices": len(invoice_rows)}


def _seed_times(
    rng: random.Random, now: datetime, after: datetime | None = None
) -> tuple[datetime, datetime]:
    start = after or now - timedelta(days=365)
    created = start + timedelta(
        seconds=rng.randint(0, max(1, int((now - start).total_seconds()) - 86400))
    )
    modified = created + timedelta(seconds=rng.randint(0, int((now - created).total_seconds())))
    return created, modified


def _seed_row(
    kind: str, record_id: str, name: str, data: Data, created: datetime, modified: datetime
) -> SandboxQbRecord:
    return SandboxQbRecord(
        kind=kind,
        record_id=record_id,
        edit_sequence=str(int(modified.timestamp())),
        name=name,
        time_created=created,
        time_modified=modified,
        data=data,
    )


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate.lower() in taken:
        candidate, number = f"{name[:36]} {number}", number + 1
    taken.add(candidate.lower())
    return candidate


def _seed_items(
    rng: random.Random, now: datetime, taken: set[str], first: int, count: int
) -> list[SandboxQbRecord]:
    rows = []
    for index in range(count):
        kind, base, price = ITEMS[index % len(ITEMS)]
        name = _unique(base, taken)
        created, modified = _seed_times(rng, now)
        if kind == "ItemInventory":
            cost = (Decimal(price) * Decimal("0.6")).quantize(CENT)
            data: Data = {
                "Name": name,
                "Sublevel": 0,
                "SalesDesc": name,
                "SalesPrice": price,
                "IncomeAccountRef": account("Sales"),
                "PurchaseDesc": name,
                "PurchaseCost": f"{cost:.2f}",
                "COGSAccountRef": account("Cost of Goods Sold"),
                "AssetAccountRef": account("Inventory Asset"),
                "QuantityOnHand": str(rng.randint(0, 200)),
                "AverageCost": f"{cost:.2f}",
            }
        else:
            income = account("Services" if kind == "ItemService" else "Sales")
            data = {
                "Name": name,
                "Sublevel": 0,
                "SalesOrPurchase": {"Desc": name, "Price": price, "AccountRef": income},
            }
        rows.append(_seed_row(kind, list_id(first + index, created), name, data, created, modified))
    return rows


def _customer_names(rng: random.Random, count: int) -> list[str]:
    combos = [
        f"{surname} {trade} {form}" for surname in SURNAMES for trade in TRADES for form in FORMS
    ]
    rng.shuffle(combos)
    names = list(SPECIAL_NAMES[:count])
    while len(names) < count:
        names.extend(combos[: count - len(names)])
    return names


def _seed_customers(
    rng: random.Random, now: datetime, taken: set[str], first: int, count: int
) -> list[SandboxQbRecord]:
    rows = []
    for index, base in enumerate(_customer_names(rng, count)):
        name = _unique(base[:41], taken)
        first_name, last_name = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        city, state, postal, country = rng.choice(CITIES)
        created, modified = _seed_times(rng, now)
        data: Data = {
            "Name": name,
            "Sublevel": 0,
            "CompanyName": name,
            "FirstName": first_name,
            "LastName": last_name,
            "BillAddress": {
                "Addr1": name,
                "Addr2": f"{rng.randint(1, 999)} {rng.choice(STREETS)}",
                "City": city,
                "State": state,
                "PostalCode": postal,
                "Country": country,
            },
            "Phone": f"+1 555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
            "Email": f"{_ascii(first_name)}.{_ascii(last_name)}@example.com",
            "Contact": f"{first_name} {last_name}",
            "Balance": "0.00",
            "TotalBalance": "0.00",
            "JobStatus": "None",
        }
        rows.append(
            _seed_row("Customer", list_id(first + index, created), name, data, created, modified)
        )
    return rows


def _ascii(text: str) -> str:
    return re.sub(
        r"[^a-z]",
        "",
        text.lower().translate(str.maketrans("äöüéèçñøåæíóúáàëïâêôß", "aoueecnoaaiouaaeiaeos")),
    )


def _seed_invoices(
    rng: random.Random,
    company: SandboxQbCompany,
    now: datetime,
    customers: Sequence[SandboxQbRecord],
    items: Sequence[SandboxQbRecord],
    count: int,
) -> list[SandboxQbRecord]:
    if not customers or not items or count <= 0:
        return []
    plans = [
        (rng.choice(customers), rng.sample(list(items), k=min(len(items), rng.randint(1, 4))))
        for _ in range(count)
    ]
    first = ids_reserve(company, "txn_counter", sum(1 + len(chosen) for _, chosen in plans))
    ref_base = 1001 + SandboxQbRecord.objects.filter(company=company, kind="Invoice").count()
    rows, number = [], first
    balances: dict[str, Decimal] = {}
    for index, (customer, chosen) in enumerate(plans):
        after = max(customer.time_created, *(item.time_created for item in chosen))
        created, modified = _seed_times(rng, now, after=after)
        lines = [
            (
                Line(item, Decimal(rng.randint(1, 10)), Decimal(_price(item))),
                txn_id(number + 1 + offset, created),
            )
            for offset, item in enumerate(chosen)
        ]
        data = invoice_data(
            customer=customer,
            lines=lines,
            number=number,
            txn_date=company_date(company, created),
            ref_number=str(ref_base + index),
            terms_days=30,
            paid=rng.random() < 0.6,
        )
        rows.append(
            _seed_row(
                "Invoice", txn_id(number, created), data["RefNumber"], data, created, modified
            )
        )
        balances[customer.record_id] = balances.get(customer.record_id, Decimal("0")) + Decimal(
            data["BalanceRemaining"]
        )
        number += 1 + len(chosen)
    for customer in customers:
        balance = balances.get(customer.record_id)
        if balance:
            customer.data["Balance"] = customer.data["TotalBalance"] = f"{balance:.2f}"
    return rows


def _price(item: SandboxQbRecord) -> str:
    sales = item.data.get("SalesOrPurchase") or {}
    return str(sales.get("Price") or item.data.get("SalesPrice") or "0")
