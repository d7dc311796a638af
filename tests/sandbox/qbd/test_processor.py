"""The request processor answers qbXML as QuickBooks does: one *Rs per *Rq in order with its
requestID, iterators that page and expire, inclusive modified-date filters, ActiveStatus,
deletions, CustomerAdd/CustomerMod with their status codes, scripted faults, hostile XML
refused, and every answer valid against the qbXML 13.0 schema."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from connectors.sandbox.qbd import services
from connectors.sandbox.qbd.errors import QbRequestError
from connectors.sandbox.qbd.models import SandboxQbCompany, SandboxQbIterator, SandboxQbRecord
from connectors.sandbox.qbd.processor import hcp_response, process
from connectors.sandbox.qbd.records import Line
from tests.sandbox.qbd.conftest import (
    FILE_ID,
    OWNER_ID,
    answer,
    answers,
    assert_valid,
    ids,
    message,
    modified_at,
    parsed,
)

pytestmark = pytest.mark.django_db

EASTERN = ZoneInfo("America/New_York")


def customer(company: SandboxQbCompany, name: str, **fields: object) -> SandboxQbRecord:
    return services.record_create(company=company, kind="Customer", data={"Name": name, **fields})


def customer_query(body: str = "", **attributes: str) -> str:
    attrs = "".join(f' {key}="{value}"' for key, value in {"requestID": "1", **attributes}.items())
    return f"<CustomerQueryRq{attrs}>{body}</CustomerQueryRq>"


# --- iterators --------------------------------------------------------------------------------


def test_an_iterator_pages_250_customers_by_100(
    company: SandboxQbCompany, qbxml_schema: etree.XMLSchema
) -> None:
    services.company_seed(company, customers=250, items=0, invoices=0)

    first = process(
        company,
        message(
            customer_query(
                "<MaxReturned>100</MaxReturned><ActiveStatus>All</ActiveStatus>", iterator="Start"
            )
        ),
    )
    start = answer(first)
    iterator_id = start.get("iteratorID")
    pages = [start]
    for _ in range(2):
        body = "<MaxReturned>100</MaxReturned>"
        pages.append(
            answer(
                process(
                    company,
                    message(customer_query(body, iterator="Continue", iteratorID=iterator_id)),
                )
            )
        )

    assert [page.get("iteratorRemainingCount") for page in pages] == ["150", "50", "0"]
    assert [len(page) for page in pages] == [100, 100, 50]
    assert {page.get("iteratorID") for page in pages} == {iterator_id}
    assert iterator_id.startswith("{") and iterator_id.endswith("}") and len(iterator_id) == 38
    everyone = [list_id for page in pages for list_id in ids(page)]
    assert len(set(everyone)) == 250
    assert all(page.get("statusCode") == "0" and page.get("requestID") == "1" for page in pages)
    assert_valid(qbxml_schema, first)
    assert not SandboxQbIterator.objects.exists()  # read to the end: gone


def test_an_unknown_or_finished_iterator_is_3391(
    company: SandboxQbCompany, qbxml_schema: etree.XMLSchema
) -> None:
    customer(company, "Only One")
    start = answer(
        process(company, message(customer_query("<MaxReturned>5</MaxReturned>", iterator="Start")))
    )
    stale = "{dbd52aaa-a295-4d15-b675-fafa0f49fcf8}"

    for iterator_id in (stale, start.get("iteratorID")):
        response = process(
            company, message(customer_query(iterator="Continue", iteratorID=iterator_id))
        )
        rs = answer(response)
        assert rs.get("statusCode") == "3391"
        assert rs.get("statusSeverity") == "Error"
        assert rs.get("statusMessage") == f'The iteratorID "{iterator_id}" is not valid.'
        assert_valid(qbxml_schema, response)


def test_an_iterator_survives_between_messages_and_answers_by_its_own_type(
    company: SandboxQbCompany,
) -> None:
    for number in range(3):
        customer(company, f"Customer {number}")
    start = answer(
        process(company, message(customer_query("<MaxReturned>1</MaxReturned>", iterator="Start")))
    )
    iterator_id = start.get("iteratorID")

    wrong_type = answer(
        process(
            company,
            message(f'<ItemQueryRq requestID="2" iterator="Continue" iteratorID="{iterator_id}"/>'),
        )
    )
    stopped = answer(
        process(company, message(customer_query(iterator="Stop", iteratorID=iterator_id)))
    )
    after_stop = answer(
        process(company, message(customer_query(iterator="Continue", iteratorID=iterator_id)))
    )

    assert wrong_type.get("statusCode") == "3391"
    assert stopped.get("statusCode") == "0"
    assert after_stop.get("statusCode") == "3391"


# --- filters ----------------------------------------------------------------------------------


def test_from_modified_date_is_inclusive_and_reads_a_bare_time_as_local(
    company: SandboxQbCompany,
) -> None:
    old, edge, new = (customer(company, name) for name in ("Old", "Edge", "New"))
    moment = datetime(2024, 3, 1, 9, 30, 0, tzinfo=EASTERN)
    modified_at(old, moment - timedelta(seconds=1))
    modified_at(edge, moment)
    modified_at(new, moment + timedelta(days=1))

    with_offset = answer(
        process(
            company,
            message(
                customer_query("<FromModifiedDate>2024-03-01T09:30:00-05:00</FromModifiedDate>")
            ),
        )
    )
    in_utc = answer(
        process(
            company,
            message(
                customer_query("<FromModifiedDate>2024-03-01T14:30:00+00:00</FromModifiedDate>")
            ),
        )
    )
    local = answer(
        process(
            company,
            message(customer_query("<FromModifiedDate>2024-03-01T09:30:00</FromModifiedDate>")),
        )
    )
    until = answer(
        process(company, message(customer_query("<ToModifiedDate>2024-03-01</ToModifiedDate>")))
    )

    assert ids(with_offset) == ids(in_utc) == ids(local) == [edge.record_id, new.record_id]
    assert ids(until) == [old.record_id, edge.record_id]
    assert with_offset[0].findtext("TimeModified") == "2024-03-01T09:30:00-05:00"


def test_active_status_defaults_to_active_only(company: SandboxQbCompany) -> None:
    active = customer(company, "Active Co")
    retired = customer(company, "Retired Co", IsActive="false")

    def query(status: str) -> list[str]:
        body = f"<ActiveStatus>{status}</ActiveStatus>" if status else ""
        return ids(answer(process(company, message(customer_query(body)))))

    assert query("") == query("ActiveOnly") == [active.record_id]
    assert query("InactiveOnly") == [retired.record_id]
    assert query("All") == [active.record_id, retired.record_id]
    by_id = answer(
        process(company, message(customer_query(f"<ListID>{retired.record_id}</ListID>")))
    )
    assert ids(by_id) == [retired.record_id]  # asking by ListID finds inactive ones too
    assert by_id[0].findtext("IsActive") == "false"


def test_a_missing_list_id_is_a_warning_500(company: SandboxQbCompany) -> None:
    known = customer(company, "Known")

    rs = answer(
        process(
            company,
            message(
                customer_query(f"<ListID>{known.record_id}</ListID><ListID>80009999-1</ListID>")
            ),
        )
    )

    assert rs.get("statusCode") == "500"
    assert rs.get("statusSeverity") == "Warn"
    assert '"80009999-1"' in rs.get("statusMessage")
    assert ids(rs) == [known.record_id]


def test_an_empty_result_is_status_1_info(
    company: SandboxQbCompany, qbxml_schema: etree.XMLSchema
) -> None:
    response = process(company, message(customer_query("<MaxReturned>10</MaxReturned>")))

    rs = answer(response)
    assert rs.get("statusCode") == "1"
    assert rs.get("statusSeverity") == "Info"
    assert rs.get("statusMessage") == "A query request did not find a matching object in QuickBooks"
    assert len(rs) == 0
    assert_valid(qbxml_schema, response)


def test_max_returned_without_an_iterator_gives_the_first_ones(company: SandboxQbCompany) -> None:
    made = [customer(company, f"C{number}") for number in range(5)]

    rs = answer(process(company, message(customer_query("<MaxReturned>2</MaxReturned>"))))

    assert ids(rs) == [record.record_id for record in made[:2]]
    assert rs.get("iteratorRemainingCount") is None


# --- items and invoices -----------------------------------------------------------------------


def test_item_query_answers_every_kind_under_its_own_tag(
    company: SandboxQbCompany, qbxml_schema: etree.XMLSchema
) -> None:
    services.company_seed(company, customers=0, items=10, invoices=0)

    response = process(
        company,
        message('<ItemQueryRq requestID="items"><ActiveStatus>All</ActiveStatus></ItemQueryRq>'),
    )

    rs = answer(response)
    assert rs.tag == "ItemQueryRs" and rs.get("requestID") == "items"
    assert {ret.tag for ret in rs} == {"ItemServiceRet", "ItemNonInventoryRet", "ItemInventoryRet"}
    assert len(rs) == 10
    assert_valid(qbxml_schema, response)


def test_invoice_query_gives_lines_only_when_asked(
    company: SandboxQbCompany, qbxml_schema: etree.XMLSchema
) -> None:
    buyer = customer(company, "Müller & Söhne")
    item = services.record_create(
        company=company,
        kind="ItemService",
        data={"Name": "Consulting", "SalesOrPurchase": {"Desc": "Hour", "Price": "150.00"}},
    )
    invoice = services.invoice_create(
        company=company,
        customer=buyer,
        lines=[
            Line(item, Decimal("2"), Decimal("150.00")),
            Line(item, Decimal("0.5"), Decimal("150.00")),
        ],
    )
    since = "<ModifiedDateRangeFilter><FromModifiedDate>2020-01-01</FromModifiedDate></ModifiedDateRangeFilter>"

    with_lines = process(
        company,
        message(
            f'<InvoiceQueryRq requestID="9">{since}<IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>'
        ),
    )
    without = process(company, message(f'<InvoiceQueryRq requestID="9">{since}</InvoiceQueryRq>'))

    ret = answer(with_lines)[0]
    assert ret.findtext("TxnID") == invoice.record_id
    assert ret.findtext("CustomerRef/FullName") == "Müller & Söhne"
    assert ret.findtext("Subtotal") == "375.00"
    assert ret.findtext("BalanceRemaining") == "375.00"
    assert [line.findtext("Amount") for line in ret.findall("InvoiceLineRet")] == [
        "300.00",
        "75.00",
    ]
    assert answer(without)[0].find("InvoiceLineRet") is None
    assert_valid(qbxml_schema, with_lines)
    buyer.refresh_from_db()
    assert buyer.data["Balance"] == "375.00"


def test_seeded_invoices_and_customers_are_valid_qbxml(
    company: SandboxQbCompany, qbxml_schema: etree.XMLSchema
) -> None:
    services.company_seed(company, customers=30, items=10, invoices=20)

    response = process(
        company,
        message(
            customer_query("<ActiveStatus>All</ActiveStatus>"),
            '<InvoiceQueryRq requestID="2"><IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>',
        ),
    )

    customers, invoices = answers(response)
    assert len(customers) == 30 and len(invoices) == 20
    assert customers[0].findtext("Name") == "Café Zürich"
    assert_valid(qbxml_schema, response)


# --- deletions --------------------------------------------------------------------------------


def test_deleted_records_leave_queries_and_show_in_the_deleted_queries(
    company: SandboxQbCompany, qbxml_schema: etree.XMLSchema
) -> None:
    gone = customer(company, "Gone Co")
    kept = customer(company, "Kept Co")
    item = services.record_create(company=company, kind="ItemService", data={"Name": "Visit"})
    invoice = services.invoice_create(
        company=company, customer=kept, lines=[Line(item, Decimal(1), Decimal(10))]
    )
    services.record_delete(record=gone)
    services.record_delete(record=invoice)

    response = process(
        company,
        message(
            customer_query(),
            '<ListDeletedQueryRq requestID="2"><ListDelType>Customer</ListDelType>'
            "<ListDelType>ItemService</ListDelType></ListDeletedQueryRq>",
            '<TxnDeletedQueryRq requestID="3"><TxnDelType>Invoice</TxnDelType></TxnDeletedQueryRq>',
            '<ListDeletedQueryRq requestID="4"><ListDelType>Customer</ListDelType>'
            "<DeletedDateRangeFilter><FromDeletedDate>2099-01-01</FromDeletedDate>"
            "</DeletedDateRangeFilter></ListDeletedQueryRq>",
        ),
    )

    live, lists, txns, later = answers(response)
    assert ids(live) == [kept.record_id]
    assert [
        (ret.findtext("ListDelType"), ret.findtext("ListID"), ret.findtext("FullName"))
        for ret in lists
    ] == [("Customer", gone.record_id, "Gone Co")]
    assert [
        (ret.findtext("TxnDelType"), ret.findtext("TxnID"), ret.findtext("RefNumber"))
        for ret in txns
    ] == [("Invoice", invoice.record_id, invoice.name)]
    assert later.get("statusCode") == "1"
    assert_valid(qbxml_schema, response)


# --- writes -----------------------------------------------------------------------------------


def customer_add(name: str, request_id: str = "add-1", extra: str = "") -> str:
    return (
        f'<CustomerAddRq requestID="{request_id}"><CustomerAdd><Name>{name}</Name>'
        f"{extra}</CustomerAdd></CustomerAddRq>"
    )


def test_customer_add_answers_the_new_customer(
    company: SandboxQbCompany, qbxml_schema: etree.XMLSchema
) -> None:
    extra = (
        "<CompanyName>Café Zürich AG</CompanyName><BillAddress><Addr1>Bahnhofstraße 1</Addr1>"
        "<City>Zürich</City></BillAddress><Phone>+41 44 000 00 00</Phone>"
    )
    response = process(company, message(customer_add("Café Zürich", extra=extra)))

    rs = answer(response)
    ret = rs.find("CustomerRet")
    assert rs.get("statusCode") == "0" and rs.get("requestID") == "add-1"
    assert ret.findtext("ListID").startswith("8000")
    assert ret.findtext("EditSequence").isdigit()
    assert ret.findtext("FullName") == "Café Zürich"
    assert ret.findtext("BillAddress/City") == "Zürich"
    assert ret.findtext("TimeCreated").endswith(("-05:00", "-04:00"))
    assert_valid(qbxml_schema, response)
    stored = SandboxQbRecord.objects.get(record_id=ret.findtext("ListID"))
    assert stored.data["BillAddress"] == {"Addr1": "Bahnhofstraße 1", "City": "Zürich"}


def test_customer_add_of_a_taken_name_is_3100(
    company: SandboxQbCompany, qbxml_schema: etree.XMLSchema
) -> None:
    customer(company, "Acme Rentals")

    response = process(company, message(customer_add("ACME RENTALS")))

    rs = answer(response)
    assert rs.get("statusCode") == "3100"
    assert rs.get("statusSeverity") == "Error"
    assert (
        rs.get("statusMessage") == 'The name "ACME RENTALS" of the list element is already in use.'
    )
    assert len(rs) == 0
    assert_valid(qbxml_schema, response)


def test_text_outside_latin1_is_stored_as_question_marks(company: SandboxQbCompany) -> None:
    rs = answer(process(company, message(customer_add("Łódź Café ☕"))))

    assert rs.find("CustomerRet/Name").text == "?ód? Café ?"
    assert SandboxQbRecord.objects.get(kind="Customer").name == "?ód? Café ?"


def test_a_name_too_long_for_quickbooks_is_3070(company: SandboxQbCompany) -> None:
    rs = answer(process(company, message(customer_add("x" * 42))))

    assert rs.get("statusCode") == "3070"


def customer_mod(list_id: str, edit_sequence: str, fields: str = "") -> str:
    return (
        f'<CustomerModRq requestID="mod-1"><CustomerMod><ListID>{list_id}</ListID>'
        f"<EditSequence>{edit_sequence}</EditSequence>{fields}</CustomerMod></CustomerModRq>"
    )


def test_customer_mod_with_a_stale_edit_sequence_is_3200(company: SandboxQbCompany) -> None:
    record = customer(company, "Stale Co")
    stale = record.edit_sequence
    services.record_modify(record=record, changes={"Phone": "555-0100"})  # a user edits it

    rs = answer(
        process(company, message(customer_mod(record.record_id, stale, "<Phone>1</Phone>")))
    )

    assert rs.get("statusCode") == "3200"
    assert rs.get("statusMessage") == f'The provided edit sequence "{stale}" is out-of-date.'
    record.refresh_from_db()
    assert record.data["Phone"] == "555-0100"


def test_customer_mod_changes_the_fields_given_and_bumps_edit_sequence(
    company: SandboxQbCompany, qbxml_schema: etree.XMLSchema
) -> None:
    record = customer(company, "Mod Co", Phone="555-0100", Email="old@example.com")
    modified_at(record, record.time_modified - timedelta(hours=1))

    response = process(
        company,
        message(
            customer_mod(
                record.record_id,
                record.edit_sequence,
                "<IsActive>false</IsActive><Phone>555-0199</Phone><Email></Email>",
            )
        ),
    )

    rs = answer(response)
    ret = rs.find("CustomerRet")
    assert rs.get("statusCode") == "0"
    assert int(ret.findtext("EditSequence")) > int(record.edit_sequence)
    assert ret.findtext("Phone") == "555-0199"
    assert ret.find("Email") is None  # an empty element clears the field
    assert ret.findtext("IsActive") == "false"
    assert_valid(qbxml_schema, response)
    before = record.time_modified
    record.refresh_from_db()
    assert record.is_active is False
    assert record.time_modified > before
    assert record.edit_sequence == ret.findtext("EditSequence")


def test_customer_mod_of_an_unknown_list_id_is_3120(company: SandboxQbCompany) -> None:
    rs = answer(process(company, message(customer_mod("80000999-1354334808", "1"))))

    assert rs.get("statusCode") == "3120"
    assert '"80000999-1354334808"' in rs.get("statusMessage")


# --- message handling -------------------------------------------------------------------------


def test_answers_follow_the_requests_in_order_with_their_request_ids(
    company: SandboxQbCompany, qbxml_schema: etree.XMLSchema
) -> None:
    response = process(
        company,
        message(
            customer_add("First", "a"),
            customer_query(requestID="b"),
            '<HostQueryRq requestID="c"/>',
            '<VendorQueryRq requestID="d"/>',
        ),
    )

    rs = answers(response)
    assert [(r.tag, r.get("requestID")) for r in rs] == [
        ("CustomerAddRs", "a"),
        ("CustomerQueryRs", "b"),
        ("HostQueryRs", "c"),
        ("VendorQueryRs", "d"),
    ]
    assert rs[3].get("statusCode") == "3250"  # what the fake does not answer, it says so
    assert response.startswith('<?xml version="1.0" ?>')


def test_stop_on_error_answers_nothing_after_the_first_error(company: SandboxQbCompany) -> None:
    customer(company, "Taken")
    requests = (customer_add("Taken", "1"), customer_add("Free", "2"))

    stopped = answers(process(company, message(*requests, on_error="stopOnError")))
    went_on = answers(process(company, message(*requests, on_error="continueOnError")))

    assert [r.get("statusCode") for r in stopped] == ["3100"]
    assert [r.get("statusCode") for r in went_on] == ["3100", "0"]


def test_a_scripted_status_fault_answers_first_and_is_used_up(company: SandboxQbCompany) -> None:
    record = customer(company, "Locked Co")
    services.fault_add(company=company, request_type="CustomerModRq", status_code=3170)

    locked = answer(process(company, message(customer_mod(record.record_id, record.edit_sequence))))
    query = answer(process(company, message(customer_query())))
    then = answer(process(company, message(customer_mod(record.record_id, record.edit_sequence))))

    assert locked.get("statusCode") == "3170"
    assert locked.get("statusSeverity") == "Error"
    assert "modified by another user" in locked.get("statusMessage")
    assert query.get("statusCode") == "0"  # another request type: untouched
    assert then.get("statusCode") == "0"


def test_a_scripted_hresult_fails_the_whole_message(company: SandboxQbCompany) -> None:
    services.fault_add(company=company, hresult="0x80040408", message="Could not start QuickBooks.")

    with pytest.raises(QbRequestError) as refused:
        process(company, message(customer_query()))

    assert (refused.value.hresult, refused.value.message) == (
        "0x80040408",
        "Could not start QuickBooks.",
    )
    assert answer(process(company, message(customer_query()))).get("statusCode") == "1"


@pytest.mark.parametrize(
    "xml",
    [
        '<?xml version="1.0"?><!DOCTYPE QBXML [<!ENTITY x "boom">]>'
        '<QBXML><QBXMLMsgsRq onError="stopOnError"><CustomerQueryRq>&x;</CustomerQueryRq>'
        "</QBXMLMsgsRq></QBXML>",
        '<?xml version="1.0"?><!DOCTYPE QBXML SYSTEM "file:///etc/passwd"><QBXML/>',
        message(customer_query()).replace("</QBXML>", ""),
        message(customer_query()).replace(' onError="continueOnError"', ""),
        "not xml at all",
    ],
    ids=["entity", "external-dtd", "truncated", "no-onError", "garbage"],
)
def test_unreadable_or_hostile_xml_is_hresult_0x80040400(
    company: SandboxQbCompany, xml: str
) -> None:
    with pytest.raises(QbRequestError) as refused:
        process(company, xml)

    assert refused.value.hresult == "0x80040400"
    assert (
        refused.value.message
        == "QuickBooks found an error when parsing the provided XML text stream."
    )


# --- host and company -------------------------------------------------------------------------


def test_hcp_response_describes_the_host_and_the_file_id(
    company: SandboxQbCompany, qbxml_schema: etree.XMLSchema
) -> None:
    before = hcp_response(company, OWNER_ID)
    services.file_id_write(company=company, owner_id=OWNER_ID, file_id=FILE_ID)
    after = hcp_response(company, OWNER_ID.lower())

    host, company_rs, preferences = answers(after)
    assert [r.tag for r in (host, company_rs, preferences)] == [
        "HostQueryRs",
        "CompanyQueryRs",
        "PreferencesQueryRs",
    ]
    assert host.findtext("HostRet/ProductName") == "QuickBooks Pro 2014"
    assert host.findtext("HostRet/MajorVersion") == "24"
    versions = [v.text for v in host.findall("HostRet/SupportedQBXMLVersion")]
    assert versions[0] == "1.0" and versions[-1] == "13.0"
    assert company_rs.findtext("CompanyRet/CompanyName") == "Acme Landscaping"
    extension = company_rs.find("CompanyRet/DataExtRet")
    assert extension.findtext("DataExtName") == "FileID"
    assert extension.findtext("DataExtType") == "STR255TYPE"
    assert extension.findtext("DataExtValue") == FILE_ID
    assert parsed(before).find(".//DataExtRet") is None
    assert_valid(qbxml_schema, after)
