"""QuickBooks Desktop customers reach Zoho CRM Accounts through the engine unchanged: the Web
Connector's answers go into the inbox with their records, the engine maps and matches them
(link, then the QuickBooks id, then email, then phone; never the name alone) and writes them
to the sandbox CRM over real HTTP."""

from __future__ import annotations

import pytest

from connectors.sandbox.zoho import services as zoho_sandbox
from connectors.sandbox.zoho.models import CrmRecord, CrmRelation
from syncs.live import inbox_drain
from syncs.models import RecordLink
from tests.qbd.conftest import PASSWORD, company_make, customers_flow, desktop_flows
from tests.qbd.wc import answer, call, customer_ret, hcp, requests_in

pytestmark = pytest.mark.django_db(transaction=True)


def session_with(client, company, rets: str) -> None:
    ticket, _ = call(client, "authenticate", strUserName=company.username, strPassword=PASSWORD)
    message = call(
        client,
        "sendRequestXML",
        ticket=ticket,
        strHCPResponse=hcp(company.owner_id, company.file_id),
        strCompanyFileName=company.company_file,
        qbXMLCountry="US",
        qbXMLMajorVers=13,
        qbXMLMinorVers=0,
    )
    (query,) = requests_in(message)
    call(
        client,
        "receiveResponseXML",
        ticket=ticket,
        response=answer("CustomerQueryRs", query.get("requestID"), rets),
        hresult="",
        message="",
    )


def test_customers_become_accounts_matched_by_phone_never_by_name(client, crm, crm_org):
    company = company_make()
    flow = customers_flow(company, crm)
    by_phone = zoho_sandbox.crm_record_create(
        org=crm_org, module="Accounts", data={"Account_Name": "Cust One", "Phone": "650-555-0001"}
    )
    zoho_sandbox.crm_record_create(
        org=crm_org, module="Accounts", data={"Account_Name": "Customer 2 Limited"}
    )

    session_with(client, company, customer_ret(1) + customer_ret(2) + customer_ret(3))
    inbox_drain()

    accounts = CrmRecord.objects.filter(org=crm_org, module="Accounts", deleted_at__isnull=True)
    names = sorted(a.data["Account_Name"] for a in accounts)
    assert names == ["Customer 1", "Customer 2", "Customer 2 Limited", "Customer 3"]
    links = dict(RecordLink.objects.filter(flow=flow).values_list("source_id", "target_id"))
    assert links["80000001-1700000000"] == by_phone.record_id, "matched by its phone"
    account = accounts.get(record_id=links["80000003-1700000000"])
    assert account.data["QBD_Id"] == "80000003-1700000000"
    assert account.data["Phone"] == "6505550003"  # the phone transform normalises

    # A rename in QuickBooks follows on the next session.
    renamed = customer_ret(3, modified="2026-12-03T09:00:00-05:00", edit="2").replace(
        "<Name>Customer 3</Name>", "<Name>Customer Three</Name>"
    )
    session_with(client, company, renamed)
    inbox_drain()
    account.refresh_from_db()
    assert account.data["Account_Name"] == "Customer Three"


def test_a_customer_made_inactive_or_deleted_in_quickbooks_marks_its_account_inactive(
    client, crm, crm_org
):
    from tests.qbd.wc import rs, session_run

    company = company_make()
    flow = customers_flow(company, crm)
    session_with(client, company, customer_ret(1) + customer_ret(2))
    inbox_drain()
    links = dict(RecordLink.objects.filter(flow=flow).values_list("source_id", "target_id"))
    inactive = customer_ret(1, modified="2026-12-03T09:00:00-05:00", edit="2").replace(
        "<IsActive>true</IsActive>", "<IsActive>false</IsActive>"
    )
    deleted = (
        "<ListDeletedRet><ListDelType>Customer</ListDelType><ListID>80000002-1700000000</ListID>"
        "<TimeCreated>2026-11-01T09:00:00-05:00</TimeCreated>"
        "<TimeDeleted>2026-12-03T10:00:00-05:00</TimeDeleted><FullName>Customer 2</FullName>"
        "</ListDeletedRet>"
    )

    def quickbooks(request):
        if request.tag == "CustomerQueryRq":
            return rs(request, inactive)
        if request.tag == "ListDeletedQueryRq":
            return rs(request, deleted)
        return rs(request, status=1)

    session_run(client, company, quickbooks)
    inbox_drain()

    one = CrmRecord.objects.get(org=crm_org, record_id=links["80000001-1700000000"])
    two = CrmRecord.objects.get(org=crm_org, record_id=links["80000002-1700000000"])
    assert one.data["QBD_Active"] is False and one.deleted_at is None
    assert two.data["QBD_Active"] is False and two.deleted_at is None, "the Account is kept"
    assert two.data["Account_Name"] == "Customer 2"
    from syncs.models import AuditEntry

    entry = AuditEntry.objects.filter(flow=flow, target_id=two.record_id).latest("pk")
    assert entry.note.startswith("Deleted in QuickBooks Desktop: QBD_Active set to False")
    link = RecordLink.objects.get(flow=flow, source_id="80000002-1700000000")
    assert link.source_deleted_at is not None
    assert link.target_payload["Account_Name"] == "Customer 2", "what both sides agreed stays"
    company.refresh_from_db()
    assert company.watermarks["deleted_lists"] == "2026-12-03T10:00:00-05:00"


def test_items_of_every_kind_become_products(client, crm, crm_org):
    from tests.qbd.wc import rs, session_run

    company = company_make()
    (flow,) = desktop_flows(company, crm, ("Item", "Products"))
    items = (
        "<ItemServiceRet><ListID>80000010-1700000000</ListID>"
        "<TimeModified>2026-12-01T09:00:00-05:00</TimeModified><EditSequence>1</EditSequence>"
        "<Name>Design</Name><FullName>Design</FullName><IsActive>true</IsActive>"
        "<SalesOrPurchase><Desc>Custom design work</Desc><Price>75.00</Price>"
        "</SalesOrPurchase></ItemServiceRet>"
        "<ItemInventoryRet><ListID>80000011-1700000000</ListID>"
        "<TimeModified>2026-12-01T09:05:00-05:00</TimeModified><EditSequence>1</EditSequence>"
        "<Name>Fountain</Name><FullName>Garden:Fountain</FullName><IsActive>true</IsActive>"
        "<SalesDesc>Stone fountain</SalesDesc><SalesPrice>1250.50</SalesPrice>"
        "</ItemInventoryRet>"
    )
    asked = []

    def quickbooks(request):
        asked.append(request.tag)
        return rs(request, items) if request.tag == "ItemQueryRq" else rs(request, status=1)

    session_run(client, company, quickbooks)
    inbox_drain()

    assert asked == ["ItemQueryRq", "ListDeletedQueryRq"]
    products = {
        p.data["Product_Name"]: p.data
        for p in CrmRecord.objects.filter(org=crm_org, module="Products")
    }
    assert products["Design"]["Unit_Price"] == 75 and products["Design"]["QBD_Id"]
    assert products["Design"]["Description"] == "Custom design work"
    assert products["Garden:Fountain"]["Unit_Price"] == 1250.5
    assert RecordLink.objects.filter(flow=flow).count() == 2


ITEM = (
    "<ItemServiceRet><ListID>80000010-1700000000</ListID>"
    "<TimeModified>2026-12-01T09:00:00-05:00</TimeModified><EditSequence>1</EditSequence>"
    "<Name>Design</Name><FullName>Design</FullName><IsActive>true</IsActive>"
    "<SalesOrPurchase><Desc>Custom design work</Desc><Price>75.00</Price>"
    "</SalesOrPurchase></ItemServiceRet>"
)
INVOICE = (
    "<InvoiceRet><TxnID>1A-1700000000</TxnID><TimeCreated>2026-12-01T09:00:00-05:00"
    "</TimeCreated><TimeModified>2026-12-01T09:10:00-05:00</TimeModified>"
    "<EditSequence>1</EditSequence><TxnNumber>7</TxnNumber><CustomerRef>"
    "<ListID>80000001-1700000000</ListID><FullName>Customer 1</FullName></CustomerRef>"
    "<TxnDate>2026-12-01</TxnDate><RefNumber>1001</RefNumber><DueDate>2026-12-31</DueDate>"
    "<Subtotal>450.00</Subtotal><BalanceRemaining>450.00</BalanceRemaining>"
    "<IsPaid>false</IsPaid><InvoiceLineRet><TxnLineID>1B-1</TxnLineID><ItemRef>"
    "<ListID>80000010-1700000000</ListID><FullName>Design</FullName></ItemRef>"
    "<Desc>Design work</Desc><Quantity>6</Quantity><Rate>75.00</Rate><Amount>450.00</Amount>"
    "</InvoiceLineRet></InvoiceRet>"
)


def test_invoices_become_deals_of_their_account_and_a_deleted_one_is_closed_lost(
    client, crm, crm_org
):
    from tests.qbd.wc import rs, session_run

    company = company_make()
    accounts = customers_flow(company, crm)
    deals, _ = desktop_flows(company, crm, ("Invoice", "Deals"), ("Item", "Products"))
    answers = {
        "CustomerQueryRq": customer_ret(1),
        "ItemQueryRq": ITEM,
        "InvoiceQueryRq": INVOICE,
    }

    def quickbooks(request):
        found = answers.pop(request.tag, "")
        return rs(request, found, status=0 if found else 1)

    sent = session_run(client, company, quickbooks)
    inbox_drain()

    assert [r.tag for r in sent] == [
        "CustomerQueryRq",
        "ItemQueryRq",
        "InvoiceQueryRq",
        "ListDeletedQueryRq",
        "TxnDeletedQueryRq",
    ]
    assert sent[2].findtext("IncludeLineItems") == "true"
    (deal,) = CrmRecord.objects.filter(org=crm_org, module="Deals")
    account_id = RecordLink.objects.get(flow=accounts).target_id
    assert deal.data["Deal_Name"] == "1001" and deal.data["Amount"] == 450
    assert deal.data["Stage"] == "Negotiation/Review"
    assert deal.data["Closing_Date"] == "2026-12-31"
    assert deal.data["Account_Name"]["id"] == account_id
    assert RecordLink.objects.get(flow=deals).target_id == deal.record_id
    (product,) = CrmRecord.objects.filter(org=crm_org, module="Products")
    related = CrmRelation.objects.filter(record_id=deal.record_id, related_list="Products")
    assert list(related.values_list("related_id", flat=True)) == [product.record_id]

    deleted = (
        "<TxnDeletedRet><TxnDelType>Invoice</TxnDelType><TxnID>1A-1700000000</TxnID>"
        "<TimeCreated>2026-12-01T09:00:00-05:00</TimeCreated>"
        "<TimeDeleted>2026-12-04T08:00:00-05:00</TimeDeleted><RefNumber>1001</RefNumber>"
        "</TxnDeletedRet>"
    )
    answers.update(TxnDeletedQueryRq=deleted)
    session_run(client, company, quickbooks)
    inbox_drain()

    deal.refresh_from_db()
    assert deal.data["Stage"] == "Closed Lost" and deal.deleted_at is None


def test_a_voided_invoice_closes_its_deal_lost(client, crm, crm_org):
    from tests.qbd.wc import rs, session_run

    company = company_make()
    customers_flow(company, crm)
    desktop_flows(company, crm, ("Invoice", "Deals"), ("Item", "Products"))
    paid = INVOICE.replace("<IsPaid>false</IsPaid>", "<IsPaid>true</IsPaid>")
    voided = (
        INVOICE.replace("<EditSequence>1</EditSequence>", "<EditSequence>2</EditSequence>")
        .replace("450.00", "0.00")
        .replace("<IsPaid>false</IsPaid>", "<Memo>VOID: design work</Memo><IsPaid>false</IsPaid>")
    )
    answers = {"CustomerQueryRq": customer_ret(1), "ItemQueryRq": ITEM, "InvoiceQueryRq": paid}

    def quickbooks(request):
        found = answers.pop(request.tag, "")
        return rs(request, found, status=0 if found else 1)

    session_run(client, company, quickbooks)
    inbox_drain()
    (deal,) = CrmRecord.objects.filter(org=crm_org, module="Deals")
    assert deal.data["Stage"] == "Closed Won"

    answers["InvoiceQueryRq"] = voided
    session_run(client, company, quickbooks)
    inbox_drain()

    deal.refresh_from_db()
    assert (deal.data["Stage"], deal.data["Amount"]) == ("Closed Lost", 0)


def test_the_lines_of_an_item_group_are_related_to_the_deal_one_by_one(client, crm, crm_org):
    from tests.qbd.wc import rs, session_run

    company = company_make()
    customers_flow(company, crm)
    desktop_flows(company, crm, ("Invoice", "Deals"), ("Item", "Products"))
    second_item = ITEM.replace("80000010", "80000012").replace("Design", "Planting")
    grouped = INVOICE.replace(
        "</InvoiceRet>",
        "<InvoiceLineGroupRet><TxnLineID>1C-1</TxnLineID><ItemGroupRef>"
        "<ListID>80000013-1700000000</ListID><FullName>Garden kit</FullName></ItemGroupRef>"
        "<InvoiceLineRet><TxnLineID>1C-2</TxnLineID><ItemRef>"
        "<ListID>80000012-1700000000</ListID><FullName>Planting</FullName></ItemRef>"
        "<Amount>10.00</Amount></InvoiceLineRet></InvoiceLineGroupRet></InvoiceRet>",
    )
    answers = {
        "CustomerQueryRq": customer_ret(1),
        "ItemQueryRq": ITEM + second_item,
        "InvoiceQueryRq": grouped,
    }

    def quickbooks(request):
        found = answers.pop(request.tag, "")
        return rs(request, found, status=0 if found else 1)

    session_run(client, company, quickbooks)
    inbox_drain()

    (deal,) = CrmRecord.objects.filter(org=crm_org, module="Deals")
    related = CrmRelation.objects.filter(record_id=deal.record_id).values_list(
        "related_id", flat=True
    )
    names = set(
        CrmRecord.objects.filter(record_id__in=list(related)).values_list(
            "data__Product_Name", flat=True
        )
    )
    assert names == {"Design", "Planting"}
