"""The sandbox demo's records, as data and pure functions: who Craig's Design and Landscaping
Services sells to and buys from, what it sells, what it invoiced, estimated, ordered and was
billed for, and the few records Zylker's Zoho CRM and Zoho Books hold of their own.
`connectors.sandbox.demo` writes them through the fakes' services.

Everything comes from a `random.Random` the caller seeds, so every machine gets the same records.
Names, places and phone numbers are made up (US numbers sit in the 555-01xx block kept for
fiction); e-mail and web addresses use the reserved `.example` and `.invalid` domains.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

Doc = dict[str, Any]

# Intuit's sample company's customers: "Company; Contact person" (no company: a private client).
SAMPLE_CUSTOMERS = """Amy's Bird Sanctuary; Amy Lauterbach
Bill's Windsurf Shop; Bill Lucchini
Cool Cars; Grace Pariente
; Diego Rodriguez
Dukes Basketball Camp; Peter Dukes
; Dylan Sollfrank
Freeman Sporting Goods; Kirby Freeman
; Geeta Kalapatapu
Gevelber Photography; Lisa Gevelber
Jeff's Jalopies; Jeff Chin
; John Melton
; Kate Whelan
Kookies by Kathy; Kathy Kuple
; Mark Cho
Paulsen Medical Supplies; Kathy Paulsen
Pye's Cakes; Karen Pye
Rago Travel Agency; Nicola Rago
Red Rock Diner; Stephanie Martini
Rondonuwu Fruit and Vegi; Shara Rondonuwu
; Shara Barnett
Sonnenschein Family Store; Russ Sonnenschein
Sushi by Katsuyuki; Katsuyuki Yanagawa
; Travis Waldron
Video Games by Dan; Dan Lau
Wedding Planning by Whitney; Whitney Sanders
Weiskopf Consulting; Nicola Weiskopf"""
# Customers abroad: company; person; street; city; region; postcode; country; dialling prefix.
ABROAD = """; Søren Ødegård; Karl Johans gate 22; Oslo; ; 0159; Norway; +47 22
Zoë Müller GmbH; Zoë Müller; Friedrichstraße 112; Berlin; BE; 10117; Germany; +49 30
; José Álvarez; Calle de Alcalá 48; Madrid; MD; 28014; Spain; +34 91
Lefèvre Paysages SARL; François Lefèvre; 12 Rue de Rivoli; Paris; ; 75004; France; +33 1
; Ana Ćirić; Ilica 45; Zagreb; ; 10000; Croatia; +385 1
Ångström Trädgård AB; Björn Ångström; Drottninggatan 71; Stockholm; ; 111 36; Sweden; +46 8
; Siobhán Ó Briain; 14 Merrion Square; Dublin; ; D02 VR66; Ireland; +353 1
; Łukasz Wójcik; ul. Nowy Świat 15; Warszawa; ; 00-029; Poland; +48 22
Tremblay Aménagement Inc.; Chloé Tremblay; 1200 Rue Sainte-Catherine O; Montréal; QC; H3B 1K9; Canada; +1 514
Hughes & Daughters Ltd; Oliver Hughes; 221 Baker Street; London; ; NW1 6XE; United Kingdom; +44 20
Viveros Núñez S.A. de C.V.; María Núñez; Av. Paseo de la Reforma 222; Ciudad de México; CMX; 06600; Mexico; +52 55"""
GIVEN = (
    "Alicia", "Ben", "Carmen", "Darius", "Elena", "Felix", "Gwen", "Hector", "Iris", "Jonah", "Keiko",
    "Leon", "Maya", "Nate", "Olga", "Pablo",
)  # fmt: skip
FAMILY = (
    "Abbott", "Brennan", "Castillo", "Donovan", "Ellison", "Fischer", "Garcia", "Holloway", "Ibarra",
    "Jensen", "Kowalski", "Larsen", "Moreno", "Novak", "Osei", "Park",
)  # fmt: skip
TRADES = (
    "Landscaping", "Garden Center", "Realty", "Property Management", "Builders", "Architects",
    "Dental Group", "Veterinary Clinic", "Pool & Spa", "Tree Service", "Hotel", "Winery",
)  # fmt: skip
SUFFIXES = ("LLC", "Inc.", "& Sons", "Co.", "")
# City, state, ZIP, area code.
US_PLACES = (
    ("Half Moon Bay", "CA", "94019", "650"), ("Palo Alto", "CA", "94301", "650"),
    ("San Mateo", "CA", "94401", "650"), ("Sunnyvale", "CA", "94086", "408"),
    ("Redwood City", "CA", "94063", "650"), ("Santa Cruz", "CA", "95060", "831"),
    ("Portland", "OR", "97205", "503"), ("Seattle", "WA", "98101", "206"),
    ("Austin", "TX", "78701", "512"), ("Denver", "CO", "80202", "303"),
    ("Boston", "MA", "02108", "617"), ("Chicago", "IL", "60601", "312"),
    ("Brooklyn", "NY", "11201", "718"), ("Tucson", "AZ", "85701", "520"),
)  # fmt: skip
STREETS = (
    "Ocean Dr.", "Main St.", "Oak Ave.", "Cedar Ln.", "Maple Ct.", "Willow Way", "Birch Rd.",
    "Sunset Blvd.", "Hillcrest Dr.", "Elm St.", "Garden Pl.", "Lakeview Ter.",
)  # fmt: skip
US_SPELLINGS = ("USA", "US", "United States", "")  # real books are not consistent
NOTES = ("Prefers invoices by email.", "Gate code 4417.", "Net 30 agreed.", "Call before visits.")
MAILBOXES = ("mail.example", "inbox.example", "post.example")
# Vendor; contact person; account number; 1099 contractor.
VENDORS = """Norton Lumber and Building Materials; Lou Norton; NL-20931; n
Tania's Nursery; Tania Oduya; TN-1188; n
Hicks Hardware; Greg Hicks; HH-5521; n
Ellis Equipment Rental; Rosa Ellis; EER-0042; n
Tim Philip Masonry; Tim Philip; TPM-310; y
Lee Advertising; Dana Lee; LA-7731; n
Brosnahan Insurance Agency; Nick Brosnahan; BIA-99120; n
Cal Telephone; Priya Raman; CT-4451002; n
Robertson & Associates; Ian Robertson; RA-208; y
Gärtnerei Böhm KG; Jürgen Böhm; GB-1907; n"""
# Item; Type; SKU; price; purchase cost; description.
ITEMS = """Design; Service; SRV-DES; 75; ; Custom landscape design (per hour)
Gardening; Service; SRV-GRD; 25; ; Weekly gardening service (per hour)
Installation; Service; SRV-INS; 50; ; Installation of landscape design (per hour)
Lighting; Service; SRV-LGT; 60; ; Garden lighting installation (per hour)
Maintenance & Repair; Service; SRV-MNT; 45; ; Maintenance and repair (per hour)
Pest Control; Service; SRV-PST; 35; ; Pest control treatment (per visit)
Trimming; Service; SRV-TRM; 35; ; Tree and shrub trimming (per hour)
Irrigation Audit; Service; SRV-IRR; 95; ; Sprinkler system audit and report
Site Survey; Service; SRV-SUR; 120; ; Site survey and measurements
Rock Fountain; NonInventory; NI-FTN; 275; 125; Rock fountain, 36 in.
Pump; NonInventory; NI-PMP; 15; 10; Fountain pump
Sprinkler Heads; NonInventory; NI-SPH; 2; 0.75; Pop-up sprinkler head
Sprinkler Pipes; NonInventory; NI-SPP; 4; 2.5; PVC sprinkler pipe (per ft)
Concrete; NonInventory; NI-CON; 9.5; 4; Concrete for fountain installation (per bag)
Sod; NonInventory; NI-SOD; 1.75; 0.8; Sod (per sq ft)
Soil; NonInventory; NI-SOI; 10; 6.5; Planting soil (per bag)
Mulch; NonInventory; NI-MUL; 6.5; 3; Cedar mulch (per bag)
Pavers; NonInventory; NI-PAV; 3.25; 1.5; Concrete paver (each)
Garden Lights; NonInventory; NI-GLT; 32; 14; Low-voltage path light
Bird Bath; NonInventory; NI-BRD; 85; 40; Stone bird bath"""
# The sample company's chart of accounts. The fake keeps no Account entity, but real QBO wants
# an income account on every Service and NonInventory item, so the demo sends the refs it would.
DESIGN_INCOME = {"value": "82", "name": "Design income"}
SERVICES_INCOME = {"value": "45", "name": "Landscaping Services"}
PRODUCT_INCOME = {"value": "79", "name": "Sales of Product Income"}
COST_OF_GOODS = {"value": "80", "name": "Cost of Goods Sold"}
# Bills and purchase orders credit A/P; bills for services go on expense accounts. The refs are
# the ones Intuit's Bill reference shows for this sample company.
ACCOUNTS_PAYABLE = {"value": "33", "name": "Accounts Payable (A/P)"}
ADVERTISING = {"value": "7", "name": "Advertising"}
DECKS_AND_PATIOS = {"value": "64", "name": "Job Expenses:Job Materials:Decks and Patios"}
# Who sells the company its materials: purchase orders and bills for goods go to them.
SUPPLIES = {
    "Norton Lumber and Building Materials": ("Concrete", "Pavers", "Rock Fountain", "Bird Bath"),
    "Tania's Nursery": ("Sod", "Soil", "Mulch"),
    "Hicks Hardware": ("Pump", "Sprinkler Heads", "Sprinkler Pipes", "Garden Lights"),
}
# Bills for services: vendor, expense account, what for, the range of the amount.
SERVICE_BILLS = (
    ("Lee Advertising", ADVERTISING, "Newspaper and web ads, spring campaign", (150, 450)),
    ("Tim Philip Masonry", DECKS_AND_PATIOS, "Patio stonework, subcontracted", (800, 2400)),
)
# Estimates by stage: how many, and how many days ago they were made (the pending ones are
# still within their 30 days).
ESTIMATE_STAGES = (
    ("Closed", 3, (90, 170)),
    ("Accepted", 3, (20, 80)),
    ("Rejected", 1, (30, 90)),
    ("Pending", 3, (0, 25)),
)
_FOLD = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "ß": "ss", "đ": "d", "ł": "l", "Ł": "L"})


def _rows(table: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split(";")] for line in table.splitlines()]


def _slug(text: str) -> str:
    """ASCII for e-mail addresses and web sites: `Søren Ødegård` -> `sorenodegard`."""
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return re.sub(r"[^a-z0-9]+", "", folded.encode("ascii", "ignore").decode().lower())


class _Phones:
    """Unique numbers; US ones in the 555-0100..0199 block kept for fiction."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.used = rng, set[str]()

    def _unique(self, make: Callable[[], str]) -> str:
        number = make()
        while number in self.used:
            number = make()
        self.used.add(number)
        return number

    def us(self, area: str) -> str:
        return self._unique(lambda: f"({area}) 555-01{self.rng.randint(0, 99):02d}")

    def abroad(self, prefix: str, *, mobile: bool = False) -> str:
        head = f"{prefix.split()[0]} {self.rng.randint(400, 799)}" if mobile else prefix
        return self._unique(
            lambda: f"{head} {self.rng.randint(100, 999)} {self.rng.randint(1000, 9999)}"
        )


def _address(line1: str, city: str, region: str, postcode: str, country: str) -> Doc:
    fields = {"Line1": line1, "City": city, "CountrySubDivisionCode": region}
    fields |= {"PostalCode": postcode, "Country": country}
    return {key: value for key, value in fields.items() if value}


def _us_address(rng: random.Random) -> tuple[Doc, str]:
    city, state, zip_code, area = rng.choice(US_PLACES)
    street = f"{rng.randint(10, 9899)} {rng.choice(STREETS)}"
    return _address(street, city, state, zip_code, rng.choice(US_SPELLINGS)), area


def _customer(company: str, person: str, email_domain: str, bill: Doc) -> Doc:
    given, _, family = person.partition(" ")
    doc: Doc = {"DisplayName": company or person, "GivenName": given, "FamilyName": family}
    if company:
        doc |= {"CompanyName": company, "WebAddr": {"URI": f"https://www.{email_domain}"}}
    doc["PrimaryEmailAddr"] = {"Address": f"{_slug(given)}.{_slug(family)}@{email_domain}"}
    return doc | {"BillAddr": bill}


def demo_customers(*, rng: random.Random) -> list[Doc]:
    """At least 50 customers: Intuit's sample ones, more US businesses, and clients abroad with
    names that are not ASCII. Every one has names, both addresses, e-mail, phone and mobile."""
    phones, customers = _Phones(rng), []
    generated = [
        (f"{family} {rng.choice(TRADES)} {rng.choice(SUFFIXES)}".strip(), f"{given} {family}")
        for given, family in zip(GIVEN, rng.sample(FAMILY, len(FAMILY)), strict=True)
    ]
    for company, person in [tuple(row) for row in _rows(SAMPLE_CUSTOMERS)] + generated:
        bill, area = _us_address(rng)
        domain = f"{_slug(company)}.example" if company else rng.choice(MAILBOXES)
        doc = _customer(company, person, domain, bill)
        ship = bill if rng.random() < 0.6 else _us_address(rng)[0]  # else a job site elsewhere
        doc |= {"ShipAddr": dict(ship), "PrimaryPhone": {"FreeFormNumber": phones.us(area)}}
        doc["Mobile"] = {"FreeFormNumber": phones.us(rng.choice(US_PLACES)[3])}
        customers.append(doc)
    for company, person, street, city, region, postcode, country, prefix in _rows(ABROAD):
        domain = f"{_slug(company)}.example" if company else rng.choice(MAILBOXES)
        doc = _customer(company, person, domain, _address(street, city, region, postcode, country))
        doc["ShipAddr"] = dict(doc["BillAddr"])
        doc["PrimaryPhone"] = {"FreeFormNumber": phones.abroad(prefix)}
        doc["Mobile"] = {"FreeFormNumber": phones.abroad(prefix, mobile=True)}
        customers.append(doc)
    for doc in customers:
        doc["PreferredDeliveryMethod"] = "Email" if rng.random() < 0.7 else "Print"
        if rng.random() < 0.25:
            doc["Notes"] = rng.choice(NOTES)
    return customers


def demo_vendors(*, rng: random.Random) -> list[Doc]:
    phones, vendors = _Phones(rng), []
    for name, person, account, contractor in _rows(VENDORS):
        given, _, family = person.partition(" ")
        address, area = _us_address(rng)
        vendors.append(
            {
                "DisplayName": name,
                "CompanyName": name,
                "GivenName": given,
                "FamilyName": family,
                "PrimaryEmailAddr": {"Address": f"orders@{_slug(name)}.example"},
                "PrimaryPhone": {"FreeFormNumber": phones.us(area)},
                "WebAddr": {"URI": f"https://www.{_slug(name)}.example"},
                "BillAddr": address,
                "AcctNum": account,
                "Vendor1099": contractor == "y",
            }
        )
    return vendors


def demo_items() -> list[Doc]:
    """20 products and services, with SKUs, prices and the accounts QBO requires on them."""
    items = []
    for name, kind, sku, price, cost, description in _rows(ITEMS):
        item: Doc = {"Name": name, "Type": kind, "Sku": sku, "Description": description}
        item |= {"UnitPrice": float(price), "Taxable": kind == "NonInventory"}
        if kind == "Service":
            item["IncomeAccountRef"] = DESIGN_INCOME if name == "Design" else SERVICES_INCOME
        else:
            item |= {"IncomeAccountRef": PRODUCT_INCOME, "ExpenseAccountRef": COST_OF_GOODS}
            item |= {"PurchaseCost": float(cost), "PurchaseDesc": description}
        items.append(item)
    return items


def _sales_line(rng: random.Random, item: Doc) -> Doc:
    """One line of an invoice or estimate: hours of a service, or some of a product."""
    hours = item["Type"] == "Service"
    qty = rng.randint(1, 12) if hours else rng.choice((1, 2, 4, 10, 25, 50))
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": float(Decimal(str(item["UnitPrice"])) * qty),
        "Description": item["Description"],
        "SalesItemLineDetail": {
            "ItemRef": {"value": item["Id"], "name": item["Name"]},
            "Qty": qty,
            "UnitPrice": item["UnitPrice"],
            "TaxCodeRef": {"value": "NON" if hours else "TAX"},
        },
    }


def _sales_lines(rng: random.Random, items: list[Doc], most: int) -> list[Doc]:
    picked = rng.sample(items, min(len(items), rng.randint(1, most)))
    return [_sales_line(rng, item) for item in picked]


def demo_invoices(
    *, rng: random.Random, customers: list[Doc], items: list[Doc], today: date, count: int = 30
) -> list[Doc]:
    """Invoices of 1-4 lines over the last six months, oldest first; `customers` and `items`
    are stored records (with their Ids). All in the home currency: a US landscaper bills its
    clients abroad in dollars, and its QuickBooks has no multicurrency."""
    if not customers or not items:
        return []
    invoices = []
    for _ in range(count):
        lines = _sales_lines(rng, items, 4)
        day = today - timedelta(days=rng.randint(0, 180))
        invoices.append(
            {
                "CustomerRef": {"value": rng.choice(customers)["Id"]},
                "TxnDate": day.isoformat(),
                "Line": lines,
                "CustomerMemo": {"value": "Thank you for your business and have a great day!"},
            }
        )
    return sorted(invoices, key=lambda invoice: invoice["TxnDate"])


def demo_estimates(
    *, rng: random.Random, customers: list[Doc], items: list[Doc], today: date
) -> list[Doc]:
    """Estimates of 1-3 lines at every stage (ESTIMATE_STAGES), good for 30 days, oldest
    first; the accepted and closed ones say who accepted them and when."""
    if not customers or not items:
        return []
    estimates = []
    for status, count, (newest, oldest) in ESTIMATE_STAGES:
        for _ in range(count):
            customer = rng.choice(customers)
            day = today - timedelta(days=rng.randint(newest, oldest))
            estimate = {
                "CustomerRef": {"value": customer["Id"]},
                "TxnDate": day.isoformat(),
                "ExpirationDate": (day + timedelta(days=30)).isoformat(),
                "TxnStatus": status,
                "Line": _sales_lines(rng, items, 3),
                "CustomerMemo": {"value": "We look forward to working with you."},
            }
            if status in ("Accepted", "Closed"):
                person = f"{customer.get('GivenName', '')} {customer.get('FamilyName', '')}"
                accepted = min(day + timedelta(days=rng.randint(1, 10)), today)
                estimate["AcceptedBy"] = person.strip() or customer["DisplayName"]
                estimate["AcceptedDate"] = accepted.isoformat()
            estimates.append(estimate)
    return sorted(estimates, key=lambda estimate: estimate["TxnDate"])


def _suppliers(vendors: list[Doc], items: list[Doc]) -> list[tuple[Doc, list[Doc]]]:
    """The vendors of SUPPLIES that exist, each with the items it sells that can be bought
    (a purchase cost and an expense account)."""
    buyable = {i["Name"]: i for i in items if i.get("PurchaseCost") and i.get("ExpenseAccountRef")}
    by_name = {vendor["DisplayName"]: vendor for vendor in vendors}
    suppliers = []
    for name, goods in SUPPLIES.items():
        stocked = [buyable[good] for good in goods if good in buyable]
        if name in by_name and stocked:
            suppliers.append((by_name[name], stocked))
    return suppliers


def _purchase_lines(rng: random.Random, goods: list[Doc]) -> list[Doc]:
    """1-3 lines of goods at their purchase cost: big pieces a few at a time, bags by the
    dozen, small parts, pavers and sod by the hundred."""
    lines = []
    for item in rng.sample(goods, min(len(goods), rng.randint(1, 3))):
        cost = Decimal(str(item["PurchaseCost"]))
        if cost >= 25:
            qty = rng.randint(1, 2 if cost >= 100 else 4)
        else:
            qty = rng.randint(2, 12) if cost >= 5 else rng.choice((25, 50, 100, 200))
        lines.append(
            {
                "DetailType": "ItemBasedExpenseLineDetail",
                "Amount": float(cost * qty),
                "Description": item.get("PurchaseDesc") or item["Description"],
                "ItemBasedExpenseLineDetail": {
                    "ItemRef": {"value": item["Id"], "name": item["Name"]},
                    "Qty": qty,
                    "UnitPrice": item["PurchaseCost"],
                    "BillableStatus": "NotBillable",
                    "TaxCodeRef": {"value": "NON"},
                },
            }
        )
    return lines


def demo_purchase_orders(
    *, rng: random.Random, vendors: list[Doc], items: list[Doc], today: date, count: int = 6
) -> list[Doc]:
    """Orders of materials from the suppliers over the last four months, oldest first: the
    older half received (Closed), the newer half still Open."""
    suppliers = _suppliers(vendors, items)
    if not suppliers:
        return []
    orders: list[Doc] = []
    for _ in range(count):
        vendor, goods = rng.choice(suppliers)
        day = today - timedelta(days=rng.randint(0, 120))
        orders.append(
            {
                "VendorRef": {"value": vendor["Id"]},
                "APAccountRef": ACCOUNTS_PAYABLE,
                "TxnDate": day.isoformat(),
                "DueDate": (day + timedelta(days=14)).isoformat(),
                "Line": _purchase_lines(rng, goods),
                "Memo": "Deliver to the yard, weekdays 7 am to 3 pm.",
            }
        )
    orders.sort(key=lambda order: order["TxnDate"])
    for position, order in enumerate(orders):
        order["POStatus"] = "Closed" if position < len(orders) // 2 else "Open"
    return orders


def demo_bills(
    *, rng: random.Random, vendors: list[Doc], items: list[Doc], today: date, count: int = 8
) -> list[Doc]:
    """Unpaid bills of the last six weeks, due in 30 days, oldest first: materials from the
    suppliers, and every third one for a service (SERVICE_BILLS in turn) on an expense account."""
    by_name = {vendor["DisplayName"]: vendor for vendor in vendors}
    services = [(by_name[row[0]], *row[1:]) for row in SERVICE_BILLS if row[0] in by_name]
    suppliers = _suppliers(vendors, items)
    bills = []
    for number in range(count):
        if services and (number % 3 == 2 or not suppliers):
            vendor, account, what, (low, high) = services[number // 3 % len(services)]
            detail = {"AccountRef": account, "BillableStatus": "NotBillable"}
            line: Doc = {"DetailType": "AccountBasedExpenseLineDetail", "Description": what}
            line |= {
                "Amount": rng.randrange(low, high, 25),
                "AccountBasedExpenseLineDetail": detail,
            }
            lines = [line]
        elif suppliers:
            vendor, goods = rng.choice(suppliers)
            lines = _purchase_lines(rng, goods)
        else:
            return []
        day = today - timedelta(days=rng.randint(0, 42))
        bills.append(
            {
                "VendorRef": {"value": vendor["Id"]},
                "APAccountRef": ACCOUNTS_PAYABLE,
                "DocNumber": str(rng.randint(10000, 99999)),  # the vendor's invoice number
                "TxnDate": day.isoformat(),
                "DueDate": (day + timedelta(days=30)).isoformat(),
                "Line": lines,
            }
        )
    return sorted(bills, key=lambda bill: bill["TxnDate"])


# Zoho's own sample data: "Account; industry; type; city; state; contact; title".
CRM_SAMPLES = """King (Sample); Data/Telecom OEM; Prospect; Tallahassee; FL; Kris Marrier; CEO
Chemel (Sample); Large Enterprise; Customer; Brighton; MI; Capla Paprocki; Buyer
Truhlar And Truhlar Attys (Sample); Service Provider; Partner; Bridgeport; NJ; Simon Morasca; Counsel
Feltz Printing Service (Sample); Small/Medium Enterprise; Customer; San Jose; CA; Leota Dilliard; Owner
Commercial Press (Sample); Systems Integrator; Reseller; Anchorage; AK; Mitsue Tollner; Purchasing"""


def demo_crm_accounts() -> list[Doc]:
    """A few accounts the CRM had before QuickBooks was connected (Zoho's own sample data)."""
    return [
        {"Account_Name": name, "Industry": industry, "Account_Type": kind}
        | {"Phone": "555-555-5555", "Billing_City": city, "Billing_State": state}
        | {"Billing_Country": "United States", "Website": f"https://www.{_slug(name)}.example"}
        for name, industry, kind, city, state, _, _ in _rows(CRM_SAMPLES)
    ]


def demo_crm_contacts(*, account_ids: list[str]) -> list[Doc]:
    """One contact for each sample account, in the order `demo_crm_accounts` gives them."""
    contacts = []
    for account_id, row in zip(account_ids, _rows(CRM_SAMPLES), strict=True):
        _, _, _, city, state, person, title = row
        given, _, family = person.partition(" ")
        contacts.append(
            {"First_Name": given, "Last_Name": f"{family} (Sample)", "Title": title}
            | {"Email": f"{_slug(given)}.{_slug(family)}@noemail.invalid"}
            | {"Phone": "555-555-5555", "Lead_Source": "Trade Show"}
            | {"Account_Name": {"id": account_id}, "Mailing_City": city, "Mailing_State": state}
        )
    return contacts


# Contact; person; city; state; payment terms in days; what they buy (line; rate).
BOOKS_CUSTOMERS = """Bowman and Co; Molly Bowman; Fremont; CA; 30; Annual support plan; 1200
Harrison Gardens LLC; Tom Harrison; Sacramento; CA; 15; Consulting (hours); 140
Café Lumière; Amélie Roux; New Orleans; LA; 0; Onboarding workshop; 650
Kirby Sweets; Jo Kirby; Reno; NV; 30; Consulting (hours); 140
Mandalay Florists; Aung Thein; Oakland; CA; 15; Annual support plan; 1200
Okonkwo Logistics; Chidi Okonkwo; Houston; TX; 30; Integration setup; 2400"""


def demo_books_contacts(*, rng: random.Random) -> list[tuple[Doc, str, float]]:
    """Books customers, each with the line it buys and its rate."""
    contacts = []
    for name, person, city, state, terms, line, rate in _rows(BOOKS_CUSTOMERS):
        given, _, family = person.partition(" ")
        address = {"address": f"{rng.randint(10, 999)} Market St", "city": city}
        address |= {"state": state, "country": "U.S.A"}
        primary = {"first_name": given, "last_name": family, "is_primary_contact": True}
        primary["email"] = f"{_slug(given)}@{_slug(name)}.example"
        contact = {"contact_name": name, "company_name": name, "payment_terms": int(terms)}
        contact |= {"billing_address": address, "shipping_address": address}
        contacts.append((contact | {"contact_persons": [primary]}, line, float(rate)))
    return contacts


def demo_books_invoice(
    *, rng: random.Random, customer_id: int, line: str, rate: float, day: date, number: int
) -> Doc:
    """One Books invoice of `line`: hours come in dozens at most, the rest one at a time."""
    quantity = rng.randint(2, 12) if "hours" in line else 1
    return {
        "customer_id": customer_id,
        "date": day.isoformat(),
        "reference_number": f"PO-{4400 + number}",
        "line_items": [{"name": line, "rate": rate, "quantity": quantity}],
    }
