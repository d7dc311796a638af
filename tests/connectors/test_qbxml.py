"""connectors/qbd/qbxml.py: every request it builds is valid against Intuit's qbXML 13.0 schema,
recorded QuickBooks responses parse to the right statuses and records, hostile XML is refused."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

from connectors.qbd import qbxml
from connectors.qbd.qbxml import (
    CUSTOMER_FIELDS,
    MAX_RESPONSE_BYTES,
    QbxmlRefused,
    company_file_id,
    customer_add,
    customer_mod,
    customer_query,
    host_versions,
    invoice_query,
    item_query,
    latin1,
    list_deleted_query,
    request_message,
    responses_parse,
    txn_deleted_query,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "qbwc"
SCHEMA = FIXTURES / "qbxml130" / "qbxmlops130.xsd"  # includes qbxml130, qbxmltypes130, qbxmlso130
EASTERN = timezone(timedelta(hours=-4))
SINCE = datetime(2026, 8, 5, 16, 43, 27, 512000, tzinfo=EASTERN)
ITERATOR = "{84ff5521-205d-46b6-9d44-7b6b9acb7165}"
OWNER = "{87EDAAF8-637E-4203-867F-4BA79C2F8998}"
FILE_ID = "{CA1C3EB8-1B61-4747-A743-8D5B438B83AC}"


@functools.cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def assert_valid(message: str) -> None:
    _schema().assertValid(etree.fromstring(message.encode("utf-8")))


def _sent(request: etree._Element) -> etree._Element:
    """The request as QuickBooks receives it: serialised in a message set, validated, parsed."""
    message = request_message([request])
    assert_valid(message)
    return etree.fromstring(message.encode("utf-8"))[0][0]


def _tags(element: etree._Element) -> list[str]:
    return [child.tag for child in element]


def _soap_response(name: str) -> str:
    envelope = etree.parse(str(FIXTURES / name))
    return envelope.findtext(".//{http://developer.intuit.com/}response")


def _one(xml: str) -> qbxml.Response:
    (response,) = responses_parse(xml)
    return response


# The schema and the envelope


def test_the_schema_loads_from_the_fixture_copy_and_checks_element_order():
    assert_valid((FIXTURES / "hotglue.account-add.request.xml").read_text())
    misordered = request_message([customer_query("c", from_modified=SINCE, max_returned=5)])
    misordered = misordered.replace("<MaxReturned>5</MaxReturned>", "").replace(
        "<OwnerID>", "<MaxReturned>5</MaxReturned><OwnerID>"
    )
    with pytest.raises(etree.DocumentInvalid, match="MaxReturned"):
        assert_valid(misordered)


def test_request_message_is_declared_utf8_carries_the_qbxml_version_and_wraps_the_requests():
    message = request_message(
        [customer_query("c", from_modified=None, max_returned=5)], on_error="stopOnError"
    )
    assert message.startswith(
        '<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="13.0"?>\n'
        '<QBXML><QBXMLMsgsRq onError="stopOnError"><CustomerQueryRq requestID="c"'
    )
    root = etree.fromstring(message.encode("utf-8"))
    assert _tags(root) == ["QBXMLMsgsRq"]
    assert _tags(root[0]) == ["CustomerQueryRq"]
    assert_valid(message)


def test_request_message_holds_many_requests_in_order_and_continues_on_error_by_default():
    message = request_message([customer_add(f"w{n}", {"Name": f"Customer {n}"}) for n in (1, 2)])
    set_ = etree.fromstring(message.encode("utf-8"))[0]
    assert set_.get("onError") == "continueOnError"
    assert [request.get("requestID") for request in set_] == ["w1", "w2"]
    assert_valid(message)


def test_request_message_refuses_an_unknown_on_error_and_an_empty_set():
    with pytest.raises(ValueError, match="onError"):
        request_message([customer_add("w1", {"Name": "A"})], on_error="ignore")
    with pytest.raises(ValueError, match="at least one"):
        request_message([])


def test_request_message_makes_hand_built_text_latin1_safe_and_leaves_the_callers_element():
    request = etree.Element("CustomerQueryRq", requestID="東京")
    etree.SubElement(request, "FullName").text = "Łódź \N{EN DASH} 東京"
    message = request_message([request])
    sent = etree.fromstring(message.encode("utf-8"))[0][0]
    assert sent.get("requestID") == "??"
    assert sent.findtext("FullName") == "Lódz - ??"
    assert request.getparent() is None
    assert request.findtext("FullName") == "Łódź \N{EN DASH} 東京"
    assert_valid(message)


# Queries


@pytest.mark.parametrize("builder", [customer_query, item_query])
@pytest.mark.parametrize("iterator_id", ["", ITERATOR])
@pytest.mark.parametrize("since", [None, SINCE])
def test_list_queries_read_everything_changed_since_in_iterator_chunks(builder, iterator_id, since):
    sent = _sent(builder("q1", from_modified=since, max_returned=100, iterator_id=iterator_id))
    if iterator_id:
        assert (sent.get("iterator"), sent.get("iteratorID")) == ("Continue", ITERATOR)
    else:
        assert (sent.get("iterator"), sent.get("iteratorID")) == ("Start", None)
    assert sent.get("requestID") == "q1"
    expected = ["MaxReturned", "ActiveStatus", "FromModifiedDate", "OwnerID"]
    assert _tags(sent) == [tag for tag in expected if since or tag != "FromModifiedDate"]
    assert sent.findtext("MaxReturned") == "100"
    assert sent.findtext("ActiveStatus") == "All"
    assert sent.findtext("OwnerID") == "0"
    if since:
        assert sent.findtext("FromModifiedDate") == "2026-08-05T16:43:27-04:00"


@pytest.mark.parametrize("iterator_id", ["", ITERATOR])
@pytest.mark.parametrize("since", [None, SINCE])
def test_invoice_query_nests_the_modified_date_and_asks_for_lines(iterator_id, since):
    sent = _sent(invoice_query("i1", from_modified=since, max_returned=50, iterator_id=iterator_id))
    assert sent.tag == "InvoiceQueryRq"
    assert sent.get("iterator") == ("Continue" if iterator_id else "Start")
    expected = ["MaxReturned", "ModifiedDateRangeFilter", "IncludeLineItems", "OwnerID"]
    assert _tags(sent) == [tag for tag in expected if since or tag != "ModifiedDateRangeFilter"]
    assert sent.findtext("IncludeLineItems") == "true"
    assert sent.find("FromModifiedDate") is None
    if since:
        assert sent.findtext("ModifiedDateRangeFilter/FromModifiedDate") == (
            "2026-08-05T16:43:27-04:00"
        )


def test_query_dates_keep_their_offset_and_refuse_to_guess_one():
    sent = _sent(
        customer_query("c", from_modified=datetime(2026, 1, 2, tzinfo=UTC), max_returned=1)
    )
    assert sent.findtext("FromModifiedDate") == "2026-01-02T00:00:00+00:00"
    with pytest.raises(ValueError, match="offset"):
        customer_query("c", from_modified=datetime(2026, 1, 2), max_returned=1)


def test_queries_refuse_an_empty_page_and_a_request_id_quickbooks_would_reject():
    with pytest.raises(ValueError, match="MaxReturned"):
        item_query("i", from_modified=None, max_returned=0)
    with pytest.raises(ValueError, match="50"):
        invoice_query("x" * 51, from_modified=None, max_returned=10)


@pytest.mark.parametrize(
    ("builder", "tag", "type_tag", "types"),
    [
        (list_deleted_query, "ListDeletedQueryRq", "ListDelType", ["Customer", "ItemService"]),
        (txn_deleted_query, "TxnDeletedQueryRq", "TxnDelType", ["Invoice"]),
    ],
)
@pytest.mark.parametrize("since", [None, SINCE])
def test_deleted_queries_name_their_types_and_have_no_iterator(
    builder, tag, type_tag, types, since
):
    sent = _sent(builder("d1", types, from_deleted=since))
    assert sent.tag == tag
    assert dict(sent.attrib) == {"requestID": "d1"}
    assert [child.text for child in sent.findall(type_tag)] == types
    assert sent.find("MaxReturned") is None
    if since:
        assert _tags(sent)[-1] == "DeletedDateRangeFilter"
        assert sent.findtext("DeletedDateRangeFilter/FromDeletedDate") == (
            "2026-08-05T16:43:27-04:00"
        )
    else:
        assert _tags(sent) == [type_tag] * len(types)


def test_deleted_queries_refuse_unknown_and_missing_types():
    with pytest.raises(ValueError, match="Customers"):
        list_deleted_query("d", ["Customer", "Customers"], from_deleted=None)
    with pytest.raises(ValueError, match="Invoice"):
        list_deleted_query("d", ["Invoice"], from_deleted=None)
    with pytest.raises(ValueError, match="at least one"):
        txn_deleted_query("d", [], from_deleted=None)


# Customer writes

ADDRESS = {
    "Addr1": "Łódź Sp. z o.o.",
    "Addr2": "ul. Piotrkowska 104",
    "Addr3": "Hof 2",
    "Addr4": "3. Stock",
    "Addr5": "Tür 7",
    "City": "Zürich",
    "State": "ZH",
    "PostalCode": "8001",
    "Country": "Schweiz",
    "Note": "Lieferung \N{EN DASH} nur werktags",
}
REF = {"ListID": "80000006-1354334808", "FullName": "Acme & Söhne"}
EVERY_FIELD = {
    "Name": "Acme & Söhne <Zürich>",
    "IsActive": True,
    "ClassRef": REF,
    "ParentRef": {"FullName": "Acme Holding"},
    "CompanyName": "Acme & Söhne AG",
    "Salutation": "Frau",
    "FirstName": "Małgorzata",
    "MiddleName": "J.",
    "LastName": "Dąbrowska",
    "Suffix": "Jr.",
    "JobTitle": "Einkauf",
    "BillAddress": ADDRESS,
    "ShipAddress": {"Addr1": "Lager 3", "City": "東京"},
    "PrintAs": 'Acme "Zürich"',
    "Phone": "+41 44 123 45 67",
    "Mobile": "+41 79 123 45 67",
    "Pager": "12345",
    "AltPhone": "+41 44 765 43 21",
    "Fax": "+41 44 123 45 68",
    "Email": "einkauf@acme.example",
    "Cc": "buchhaltung@acme.example",
    "Contact": "Małgorzata Dąbrowska",
    "AltContact": "Jürg O\N{RIGHT SINGLE QUOTATION MARK}Brien",
    "CustomerTypeRef": {"FullName": "Wholesale"},
    "TermsRef": {"FullName": "Net 30"},
    "SalesRepRef": {"FullName": "JD"},
    "SalesTaxCodeRef": {"FullName": "Tax"},
    "ItemSalesTaxRef": {"FullName": "ZH VAT"},
    "ResaleNumber": "CHE-123",
    "AccountNumber": "ZOHO-4711",
    "JobDesc": "Rahmenvertrag 2026",
    "Notes": "Synced from Zoho CRM \N{EN DASH} 5€ minimum “fee”",
    "PriceLevelRef": {"FullName": "Retail"},
    "TaxRegistrationNumber": "CHE-123.456.789",
    "CurrencyRef": {"FullName": "Swiss Franc"},
}


def test_the_every_field_example_covers_every_supported_field():
    assert set(EVERY_FIELD) == set(CUSTOMER_FIELDS)


def test_customer_add_with_every_field_is_valid_and_in_the_schemas_order():
    sent = _sent(customer_add("w1", EVERY_FIELD))
    assert sent.tag == "CustomerAddRq"
    assert sent.get("requestID") == "w1"
    add = sent.find("CustomerAdd")
    assert _tags(add) == list(CUSTOMER_FIELDS)
    assert _tags(add.find("BillAddress")) == list(ADDRESS)
    assert add.findtext("Name") == "Acme & Söhne <Zürich>"
    assert add.findtext("IsActive") == "true"
    assert add.findtext("ClassRef/ListID") == "80000006-1354334808"
    assert _tags(add.find("ParentRef")) == ["FullName"]


def test_customer_mod_with_every_field_is_valid_and_names_the_record_first():
    sent = _sent(customer_mod("w2", "80000006-1354334808", "1354334808", EVERY_FIELD))
    mod = sent.find("CustomerMod")
    assert _tags(mod) == ["ListID", "EditSequence", *CUSTOMER_FIELDS]
    assert (mod.findtext("ListID"), mod.findtext("EditSequence")) == (
        "80000006-1354334808",
        "1354334808",
    )


def test_customer_names_are_escaped_not_formatted_into_the_xml():
    name = "AT&T <Bell> \"Labs\" 'Inc'"
    message = request_message([customer_add("w1", {"Name": name})])
    assert "AT&amp;T &lt;Bell&gt;" in message
    assert etree.fromstring(message.encode("utf-8")).findtext(".//Name") == name
    assert_valid(message)


def test_customer_text_keeps_latin1_and_transliterates_the_rest():
    add = _sent(customer_add("w1", EVERY_FIELD)).find("CustomerAdd")
    assert add.findtext("FirstName") == "Malgorzata"
    assert add.findtext("LastName") == "Dabrowska"
    assert add.findtext("BillAddress/Addr1") == "Lódz Sp. z o.o."
    assert add.findtext("BillAddress/City") == "Zürich"
    assert add.findtext("BillAddress/Note") == "Lieferung - nur werktags"
    assert add.findtext("ShipAddress/City") == "??"
    assert add.findtext("AltContact") == "Jürg O'Brien"
    assert add.findtext("Notes") == 'Synced from Zoho CRM - 5EUR minimum "fee"'


def test_customer_add_leaves_out_none_and_empty_values_and_needs_a_name():
    sent = _sent(
        customer_add(
            "w1",
            {"Name": "Acme", "IsActive": False, "Phone": None, "Fax": "", "BillAddress": {}},
        )
    )
    add = sent.find("CustomerAdd")
    assert _tags(add) == ["Name", "IsActive"]
    assert add.findtext("IsActive") == "false"
    for fields in ({}, {"Name": ""}, {"Name": None, "Phone": "1"}):
        with pytest.raises(ValueError, match="Name"):
            customer_add("w1", fields)


def test_customer_mod_clears_with_an_empty_string_and_leaves_none_alone():
    fields = {"Phone": "", "Fax": None, "BillAddress": {"Addr1": "Main St 1", "Addr2": ""}}
    mod = _sent(customer_mod("w2", "80000006-1354334808", "1354334808", fields)).find("CustomerMod")
    assert _tags(mod) == ["ListID", "EditSequence", "BillAddress", "Phone"]
    assert mod.findtext("Phone") == ""
    assert _tags(mod.find("BillAddress")) == ["Addr1", "Addr2"]
    assert mod.findtext("BillAddress/Addr2") == ""


def test_customer_numbers_are_written_as_text():
    add = _sent(customer_add("w1", {"Name": "Acme", "AccountNumber": 4711})).find("CustomerAdd")
    assert add.findtext("AccountNumber") == "4711"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"Name": "Acme", "Website": "https://acme.example"}, "Website"),
        ({"Name": "Acme", "ListID": "80000006-1354334808"}, "ListID"),
        ({"Name": "Acme", "BillAddress": {"Street": "Main St 1"}}, "Street"),
        ({"Name": "Acme", "TermsRef": {"Name": "Net 30"}}, "Name"),
        ({"Name": "Acme", "IsActive": "yes"}, "IsActive"),
        ({"Name": "Acme", "Phone": ["1", "2"]}, "Phone"),
        ({"Name": "Acme", "Phone": True}, "Phone"),
        ({"Name": "Acme", "BillAddress": "Main St 1"}, "BillAddress"),
    ],
)
def test_customer_fields_quickbooks_has_no_place_for_are_refused_by_name(fields, named):
    with pytest.raises(ValueError, match=named):
        customer_add("w1", fields)
    with pytest.raises(ValueError, match=named):
        customer_mod("w2", "80000006-1354334808", "1354334808", fields)


@pytest.mark.parametrize(
    ("text", "safe", "changed"),
    [
        ("Zürich", "Zürich", False),
        ("Façade Ærøskøbing", "Façade Ærøskøbing", False),
        ("Łódź", "Lódz", True),  # ó is Latin-1 and stays; Ł and ź are not
        ("Gdańsk", "Gdansk", True),
        ("東京", "??", True),
        (
            "5€ \N{EN DASH} 10€ — “net” \N{LEFT SINGLE QUOTATION MARK}gross\N{RIGHT SINGLE QUOTATION MARK}",
            "5EUR - 10EUR - \"net\" 'gross'",
            True,
        ),
        ("Œuvre … ™", "OEuvre ... TM", True),
        ("Zu\u0308rich", "Zürich", False),  # decomposed ü composes into Latin-1
        ("tab\tand\nnewline", "tab\tand\nnewline", False),
        ("vertical\x0btab", "vertical?tab", True),
        ("", "", False),
    ],
)
def test_latin1_keeps_what_quickbooks_stores_and_replaces_the_rest(text, safe, changed):
    assert latin1(text) == (safe, changed)


# Responses


def test_recorded_batch_of_successful_adds_parses_every_response_and_record():
    responses = responses_parse(
        (FIXTURES / "hotglue.customer-batch-valid.response.xml").read_bytes()
    )
    assert [r.request_id for r in responses] == [f"ext-ok-{n}" for n in range(1, 6)]
    assert {(r.name, r.status_code, r.severity, r.message) for r in responses} == {
        ("CustomerAddRs", 0, "Info", "Status OK")
    }
    first = responses[0].records
    assert len(first) == 1
    assert first[0] == {
        "_type": "CustomerRet",
        "ListID": "80002747-1785964187",
        "TimeCreated": "2026-08-05T16:43:27-04:00",
        "TimeModified": "2026-08-05T16:43:27-04:00",
        "EditSequence": "1785964187",
        "Name": "HG-BATCH-OK-1785964184-1",
        "FullName": "HG-BATCH-OK-1785964184-1",
        "IsActive": "true",
        "CompanyName": "HG Batch OK 1785964184 1",
        "Sublevel": "0",
        "Balance": "0.00",
        "TotalBalance": "0.00",
    }
    assert responses[4].records[0]["ListID"] == "8000274B-1785964187"
    assert responses[0].iterator_id == ""
    assert (responses[0].remaining, responses[0].ret_count) == (None, None)


def test_recorded_mixed_batch_gives_each_request_its_own_status():
    text = (FIXTURES / "hotglue.customer-batch-mixed.response.xml").read_text()
    responses = responses_parse(text)
    assert [(r.request_id, r.status_code, r.severity) for r in responses] == [
        ("ext-mix-1", 0, "Info"),
        ("ext-mix-2", 3100, "Error"),
        ("ext-mix-3", 3250, "Error"),
        ("ext-mix-4", 3130, "Error"),
        ("ext-mix-5", 0, "Info"),
    ]
    assert responses[1].message == (
        'The name "HG-BATCH-MIX-1785964184-1" of the list element is already in use.'
    )
    assert responses[2].message.startswith("This feature is not enabled")
    assert "NONEXISTENT-PARENT-CUSTOMER" in responses[3].message
    assert [len(r.records) for r in responses] == [1, 0, 0, 0, 1]
    assert responses[4].records[0]["CompanyName"] == "Valid last"


def test_recorded_error_3100_inside_a_receive_response_xml_envelope():
    response = _one(_soap_response("receiveResponseXML.error3100.request.xml"))
    assert response.name == "ItemServiceAddRs"
    assert response.request_id == "SXRlbVNlcnZpY2VBZGR8c2hpcHBpbmc="
    assert (response.status_code, response.severity) == (3100, "Error")
    assert response.message == (
        'The name "Shipping Item - QuickBooks Inte" of the list element is already in use.'
    )
    assert response.records == []


def test_recorded_customer_add_inside_an_envelope_parses_despite_leading_whitespace():
    inner = _soap_response("receiveResponseXML.customerAdd.request.xml")
    assert inner.startswith("\n")
    response = _one(inner)
    assert (response.name, response.request_id, response.status_code) == ("CustomerAddRs", "", 0)
    (customer,) = response.records
    assert customer["_type"] == "CustomerRet"
    assert (customer["ListID"], customer["EditSequence"]) == ("80000006-1354334808", "1354334808")
    assert (customer["Name"], customer["JobStatus"]) == ("Test Inc", "None")


def test_recorded_account_add_gives_nested_references_as_dicts():
    response = _one((FIXTURES / "hotglue.account-add.response.xml").read_text())
    (account,) = response.records
    assert account["_type"] == "AccountRet"
    assert account["CurrencyRef"] == {"ListID": "80000096-1709842673", "FullName": "US Dollar"}


CUSTOMER_PAGE = f"""<?xml version="1.0" ?>
<QBXML>
<QBXMLMsgsRs>
<CustomerQueryRs requestID="Customer" statusCode="0" statusSeverity="Info" statusMessage="Status OK"
 retCount="2" iteratorRemainingCount="3" iteratorID="{ITERATOR}">
<CustomerRet>
<ListID>80000001-1354334808</ListID>
<TimeCreated>2025-11-30T23:06:48-05:00</TimeCreated>
<TimeModified>2026-08-05T16:43:27-04:00</TimeModified>
<EditSequence>1785964207</EditSequence>
<Name>Acme &amp; Sons</Name>
<FullName>Acme &amp; Sons</FullName>
<IsActive>true</IsActive>
<Sublevel>0</Sublevel>
<BillAddress>
<Addr1>12 Main St</Addr1>
<City>Zürich</City>
<PostalCode>8001</PostalCode>
</BillAddress>
<Phone>+41 44 123 45 67</Phone>
<Balance>150.00</Balance>
<TotalBalance>150.00</TotalBalance>
<JobStatus>None</JobStatus>
<DataExtRet>
<OwnerID>0</OwnerID>
<DataExtName>Zoho ID</DataExtName>
<DataExtType>STR255TYPE</DataExtType>
<DataExtValue>4711</DataExtValue>
</DataExtRet>
</CustomerRet>
<CustomerRet>
<ListID>80000002-1354334808</ListID>
<TimeCreated>2025-12-01T09:00:00-05:00</TimeCreated>
<TimeModified>2026-08-05T16:50:00-04:00</TimeModified>
<EditSequence>1785964600</EditSequence>
<Name>Job 1</Name>
<FullName>Acme &amp; Sons:Job 1</FullName>
<IsActive>false</IsActive>
<ParentRef>
<ListID>80000001-1354334808</ListID>
<FullName>Acme &amp; Sons</FullName>
</ParentRef>
<Sublevel>1</Sublevel>
<Balance>0.00</Balance>
<TotalBalance>0.00</TotalBalance>
<JobStatus>InProgress</JobStatus>
</CustomerRet>
</CustomerQueryRs>
</QBXMLMsgsRs>
</QBXML>
"""

NO_MATCH = """<?xml version="1.0" ?>
<QBXML><QBXMLMsgsRs>
<CustomerQueryRs requestID="Customer" statusCode="1" statusSeverity="Info"
 statusMessage="A query request did not find a matching object in QuickBooks"
 retCount="0" iteratorRemainingCount="0" iteratorID="{84ff5521-205d-46b6-9d44-7b6b9acb7165}" />
</QBXMLMsgsRs></QBXML>
"""

INVOICE_HEAD = """<TxnID>1A4-1785964300</TxnID>
<TimeCreated>2026-08-05T17:00:00-04:00</TimeCreated>
<TimeModified>2026-08-05T17:05:00-04:00</TimeModified>
<EditSequence>1785964300</EditSequence>
<TxnNumber>412</TxnNumber>
<CustomerRef><ListID>80000001-1354334808</ListID><FullName>Acme &amp; Sons</FullName></CustomerRef>
<ARAccountRef><ListID>80000010-1354334808</ListID><FullName>Accounts Receivable</FullName></ARAccountRef>
<TemplateRef><ListID>80000011-1354334808</ListID><FullName>Intuit Service Invoice</FullName></TemplateRef>
<TxnDate>2026-08-05</TxnDate>
<RefNumber>1042</RefNumber>
<IsPending>false</IsPending>
<IsFinanceCharge>false</IsFinanceCharge>
<DueDate>2026-09-04</DueDate>
<ShipDate>2026-08-05</ShipDate>
<Subtotal>150.00</Subtotal>
<SalesTaxPercentage>0.00</SalesTaxPercentage>
<SalesTaxTotal>0.00</SalesTaxTotal>
<AppliedAmount>-50.00</AppliedAmount>
<BalanceRemaining>100.00</BalanceRemaining>
<IsPaid>false</IsPaid>
<IsToBePrinted>false</IsToBePrinted>
<IsToBeEmailed>false</IsToBeEmailed>
<LinkedTxn>
<TxnID>1A9-1785964400</TxnID>
<TxnType>ReceivePayment</TxnType>
<TxnDate>2026-08-06</TxnDate>
<RefNumber>77</RefNumber>
<LinkType>AMTTYPE</LinkType>
<Amount>-50.00</Amount>
</LinkedTxn>
"""


def _line(line_id: str, item: str, amount: str) -> str:
    return f"""<InvoiceLineRet>
<TxnLineID>{line_id}</TxnLineID>
<ItemRef><ListID>80000020-1354334808</ListID><FullName>{item}</FullName></ItemRef>
<Desc>{item} hours</Desc>
<Quantity>1</Quantity>
<Rate>{amount}</Rate>
<Amount>{amount}</Amount>
</InvoiceLineRet>
"""


def _invoice(lines: str) -> str:
    return f"""<?xml version="1.0" ?>
<QBXML><QBXMLMsgsRs>
<InvoiceQueryRs requestID="Invoice" statusCode="0" statusSeverity="Info" statusMessage="Status OK"
 retCount="1" iteratorRemainingCount="0" iteratorID="{ITERATOR}">
<InvoiceRet>
{INVOICE_HEAD}{lines}</InvoiceRet>
</InvoiceQueryRs>
</QBXMLMsgsRs></QBXML>
"""


ONE_LINE_INVOICE = _invoice(_line("1A5-1785964300", "Consulting", "150.00"))
GROUPED_INVOICE = _invoice(
    f"""<InvoiceLineGroupRet>
<TxnLineID>1A6-1785964300</TxnLineID>
<ItemGroupRef><ListID>80000030-1354334808</ListID><FullName>Onboarding</FullName></ItemGroupRef>
<Desc>Onboarding package</Desc>
<Quantity>1</Quantity>
<IsPrintItemsInGroup>true</IsPrintItemsInGroup>
<TotalAmount>150.00</TotalAmount>
{_line("1A7-1785964300", "Setup", "100.00")}{_line("1A8-1785964300", "Training", "50.00")}\
</InvoiceLineGroupRet>
"""
)

ITEMS_AND_DELETIONS = """<?xml version="1.0" ?>
<QBXML><QBXMLMsgsRs>
<ItemQueryRs requestID="Item" statusCode="0" statusSeverity="Info" statusMessage="Status OK"
 retCount="2" iteratorRemainingCount="0" iteratorID="{84ff5521-205d-46b6-9d44-7b6b9acb7165}">
<ItemServiceRet>
<ListID>80000020-1354334808</ListID>
<TimeCreated>2025-11-30T23:06:48-05:00</TimeCreated>
<TimeModified>2026-08-05T16:43:27-04:00</TimeModified>
<EditSequence>1785964207</EditSequence>
<Name>Consulting</Name>
<FullName>Consulting</FullName>
<IsActive>true</IsActive>
<Sublevel>0</Sublevel>
<SalesOrPurchase><Desc>Consulting hours</Desc><Price>150.00</Price>
<AccountRef><ListID>80000040-1354334808</ListID><FullName>Services</FullName></AccountRef>
</SalesOrPurchase>
</ItemServiceRet>
<ItemSalesTaxGroupRet>
<ListID>80000050-1354334808</ListID>
<TimeCreated>2025-11-30T23:06:48-05:00</TimeCreated>
<TimeModified>2026-08-05T16:43:27-04:00</TimeModified>
<EditSequence>1785964207</EditSequence>
<Name>ZH VAT</Name>
<IsActive>true</IsActive>
<ItemSalesTaxRef><ListID>80000051-1354334808</ListID><FullName>State</FullName></ItemSalesTaxRef>
<ItemSalesTaxRef><ListID>80000052-1354334808</ListID><FullName>City</FullName></ItemSalesTaxRef>
</ItemSalesTaxGroupRet>
</ItemQueryRs>
<ListDeletedQueryRs requestID="deleted_lists" statusCode="0" statusSeverity="Info"
 statusMessage="Status OK">
<ListDeletedRet>
<ListDelType>Customer</ListDelType>
<ListID>80000003-1354334808</ListID>
<TimeCreated>2025-11-30T23:06:48-05:00</TimeCreated>
<TimeDeleted>2026-08-05T18:00:00-04:00</TimeDeleted>
<FullName>Old Customer</FullName>
</ListDeletedRet>
</ListDeletedQueryRs>
<TxnDeletedQueryRs requestID="deleted_txns" statusCode="1" statusSeverity="Info"
 statusMessage="A query request did not find a matching object in QuickBooks" />
</QBXMLMsgsRs></QBXML>
"""

HCP_RESPONSE = f"""<?xml version="1.0" ?>
<QBXML>
<QBXMLMsgsRs>
<HostQueryRs requestID="0" statusCode="0" statusSeverity="Info" statusMessage="Status OK">
<HostRet>
<ProductName>QuickBooks Pro 2014</ProductName>
<MajorVersion>24</MajorVersion>
<MinorVersion>0</MinorVersion>
<Country>US</Country>
{
    "".join(
        f"<SupportedQBXMLVersion>{v}</SupportedQBXMLVersion>"
        for v in [
            "1.0",
            "1.1",
            "2.0",
            "2.1",
            "3.0",
            "4.0",
            "4.1",
            "5.0",
            "6.0",
            "7.0",
            "8.0",
            "9.0",
            "10.0",
            "11.0",
            "12.0",
            "13.0",
        ]
    )
}
<IsAutomaticLogin>false</IsAutomaticLogin>
<QBFileMode>SingleUser</QBFileMode>
</HostRet>
</HostQueryRs>
<CompanyQueryRs requestID="1" statusCode="0" statusSeverity="Info" statusMessage="Status OK">
<CompanyRet>
<IsSampleCompany>false</IsSampleCompany>
<CompanyName>Acme &amp; Sons</CompanyName>
<LegalCompanyName>Acme &amp; Sons LLC</LegalCompanyName>
<Address><Addr1>12 Main St</Addr1><City>Middlefield</City><State>CA</State>
<PostalCode>94471</PostalCode><Country>US</Country></Address>
<Phone>650-555-1212</Phone>
<FirstMonthFiscalYear>January</FirstMonthFiscalYear>
<FirstMonthIncomeTaxYear>January</FirstMonthIncomeTaxYear>
<TaxForm>Form1120</TaxForm>
<SubscribedServices>
<Service><Name>QuickBooks Online Banking</Name><Domain>banking.qb</Domain>
<ServiceStatus>Never</ServiceStatus></Service>
<Service><Name>QuickBooks Payroll Service</Name><Domain>payroll.qb</Domain>
<ServiceStatus>Active</ServiceStatus></Service>
</SubscribedServices>
<AccountantCopy><AccountantCopyExists>false</AccountantCopyExists></AccountantCopy>
<DataExtRet>
<OwnerID>{OWNER}</OwnerID>
<DataExtName>AppLock</DataExtName>
<DataExtType>STR255TYPE</DataExtType>
<DataExtValue>LOCKED:FRONTDESK-PC:635289565906618390</DataExtValue>
</DataExtRet>
<DataExtRet>
<OwnerID>{{0B2C3D4E-5F60-4172-8394-A5B6C7D8E9F0}}</OwnerID>
<DataExtName>FileID</DataExtName>
<DataExtType>STR255TYPE</DataExtType>
<DataExtValue>{{11111111-2222-3333-4444-555555555555}}</DataExtValue>
</DataExtRet>
<DataExtRet>
<OwnerID>{OWNER}</OwnerID>
<DataExtName>FileID</DataExtName>
<DataExtType>STR255TYPE</DataExtType>
<DataExtValue>{FILE_ID}</DataExtValue>
</DataExtRet>
</CompanyRet>
</CompanyQueryRs>
<PreferencesQueryRs requestID="2" statusCode="0" statusSeverity="Info" statusMessage="Status OK">
<PreferencesRet>
<AccountingPreferences>
<IsUsingAccountNumbers>false</IsUsingAccountNumbers>
<IsRequiringAccounts>true</IsRequiringAccounts>
<IsUsingClassTracking>false</IsUsingClassTracking>
<IsUsingAuditTrail>true</IsUsingAuditTrail>
<IsAssigningJournalEntryNumbers>true</IsAssigningJournalEntryNumbers>
</AccountingPreferences>
<FinanceChargePreferences>
<AnnualInterestRate>0.00</AnnualInterestRate>
<MinFinanceCharge>0.00</MinFinanceCharge>
<GracePeriod>0</GracePeriod>
<IsAssessingForOverdueCharges>false</IsAssessingForOverdueCharges>
<CalculateChargesFrom>DueDate</CalculateChargesFrom>
<IsMarkedToBePrinted>false</IsMarkedToBePrinted>
</FinanceChargePreferences>
<JobsAndEstimatesPreferences>
<IsUsingEstimates>true</IsUsingEstimates>
<IsUsingProgressInvoicing>false</IsUsingProgressInvoicing>
<IsPrintingItemsWithZeroAmounts>false</IsPrintingItemsWithZeroAmounts>
</JobsAndEstimatesPreferences>
<MultiCurrencyPreferences><IsMultiCurrencyOn>false</IsMultiCurrencyOn></MultiCurrencyPreferences>
<MultiLocationInventoryPreferences>
<IsMultiLocationInventoryAvailable>false</IsMultiLocationInventoryAvailable>
<IsMultiLocationInventoryEnabled>false</IsMultiLocationInventoryEnabled>
</MultiLocationInventoryPreferences>
<PurchasesAndVendorsPreferences>
<IsUsingInventory>false</IsUsingInventory>
<DaysBillsAreDue>10</DaysBillsAreDue>
<IsAutomaticallyUsingDiscounts>false</IsAutomaticallyUsingDiscounts>
</PurchasesAndVendorsPreferences>
<ReportsPreferences>
<AgingReportBasis>AgeFromDueDate</AgingReportBasis>
<SummaryReportBasis>Accrual</SummaryReportBasis>
</ReportsPreferences>
<SalesAndCustomersPreferences>
<IsTrackingReimbursedExpensesAsIncome>false</IsTrackingReimbursedExpensesAsIncome>
<IsAutoApplyingPayments>true</IsAutoApplyingPayments>
<PriceLevels><IsUsingPriceLevels>true</IsUsingPriceLevels></PriceLevels>
</SalesAndCustomersPreferences>
<TimeTrackingPreferences><FirstDayOfWeek>Monday</FirstDayOfWeek></TimeTrackingPreferences>
<CurrentAppAccessRights>
<IsAutomaticLoginAllowed>false</IsAutomaticLoginAllowed>
<IsPersonalDataAccessAllowed>false</IsPersonalDataAccessAllowed>
</CurrentAppAccessRights>
</PreferencesRet>
</PreferencesQueryRs>
</QBXMLMsgsRs>
</QBXML>
"""


@pytest.mark.parametrize(
    "response",
    [CUSTOMER_PAGE, NO_MATCH, ONE_LINE_INVOICE, GROUPED_INVOICE, ITEMS_AND_DELETIONS, HCP_RESPONSE],
    ids=["customer-page", "no-match", "one-line", "grouped", "items-deletions", "hcp"],
)
def test_the_hand_written_responses_are_ones_the_schema_allows(response):
    _schema().assertValid(etree.fromstring(response.encode("utf-8")))


def test_an_iterator_page_says_how_many_remain_and_how_to_continue():
    page = _one(CUSTOMER_PAGE)
    assert (page.name, page.request_id, page.status_code) == ("CustomerQueryRs", "Customer", 0)
    assert (page.iterator_id, page.remaining, page.ret_count) == (ITERATOR, 3, 2)
    first, job = page.records
    assert first["Name"] == "Acme & Sons"
    assert first["BillAddress"] == {"Addr1": "12 Main St", "City": "Zürich", "PostalCode": "8001"}
    assert first["DataExtRet"] == [
        {
            "OwnerID": "0",
            "DataExtName": "Zoho ID",
            "DataExtType": "STR255TYPE",
            "DataExtValue": "4711",
        }
    ]
    assert job["ParentRef"] == {"ListID": "80000001-1354334808", "FullName": "Acme & Sons"}
    assert (job["IsActive"], job["Sublevel"]) == ("false", "1")


def test_no_match_is_an_empty_answer_not_a_failure():
    answer = _one(NO_MATCH)
    assert (answer.status_code, answer.severity, answer.records) == (1, "Info", [])
    assert answer.remaining == 0


def test_a_single_invoice_line_still_comes_back_as_a_list():
    (invoice,) = _one(ONE_LINE_INVOICE).records
    assert invoice["_type"] == "InvoiceRet"
    assert invoice["CustomerRef"] == {"ListID": "80000001-1354334808", "FullName": "Acme & Sons"}
    assert invoice["InvoiceLineRet"] == [
        {
            "TxnLineID": "1A5-1785964300",
            "ItemRef": {"ListID": "80000020-1354334808", "FullName": "Consulting"},
            "Desc": "Consulting hours",
            "Quantity": "1",
            "Rate": "150.00",
            "Amount": "150.00",
        }
    ]
    assert [link["TxnType"] for link in invoice["LinkedTxn"]] == ["ReceivePayment"]
    assert "InvoiceLineGroupRet" not in invoice


def test_lines_inside_an_invoice_line_group_all_come_through():
    (invoice,) = _one(GROUPED_INVOICE).records
    (group,) = invoice["InvoiceLineGroupRet"]
    assert group["ItemGroupRef"]["FullName"] == "Onboarding"
    assert [line["ItemRef"]["FullName"] for line in group["InvoiceLineRet"]] == [
        "Setup",
        "Training",
    ]
    assert [line["Amount"] for line in group["InvoiceLineRet"]] == ["100.00", "50.00"]
    assert "InvoiceLineRet" not in invoice


def test_item_and_deleted_records_are_told_apart_by_their_type():
    items, deleted_lists, deleted_txns = responses_parse(ITEMS_AND_DELETIONS)
    assert [record["_type"] for record in items.records] == [
        "ItemServiceRet",
        "ItemSalesTaxGroupRet",
    ]
    service, tax_group = items.records
    assert service["SalesOrPurchase"]["AccountRef"]["FullName"] == "Services"
    assert [ref["FullName"] for ref in tax_group["ItemSalesTaxRef"]] == ["State", "City"]
    (gone,) = deleted_lists.records
    assert gone == {
        "_type": "ListDeletedRet",
        "ListDelType": "Customer",
        "ListID": "80000003-1354334808",
        "TimeCreated": "2025-11-30T23:06:48-05:00",
        "TimeDeleted": "2026-08-05T18:00:00-04:00",
        "FullName": "Old Customer",
    }
    assert (deleted_txns.name, deleted_txns.status_code, deleted_txns.records) == (
        "TxnDeletedQueryRs",
        1,
        [],
    )


def test_a_response_in_bytes_keeps_its_declared_encoding():
    xml = (
        '<?xml version="1.0" encoding="ISO-8859-1" ?><QBXML><QBXMLMsgsRs>'
        '<CustomerAddRs requestID="w1" statusCode="0" statusSeverity="Info">'
        "<CustomerRet><Name>Zürich</Name></CustomerRet></CustomerAddRs></QBXMLMsgsRs></QBXML>"
    ).encode("latin-1")
    response = _one(xml)
    assert response.records[0]["Name"] == "Zürich"
    assert response.message == ""


# Hostile and malformed input

PASSWD = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE QBXML [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{n} "{("&lol" + str(n - 1 or "") + ";") * 10}">' for n in range(1, 10))
    + ']><QBXML><QBXMLMsgsRs><CustomerQueryRs statusCode="0" statusSeverity="Info"'
    ' statusMessage="&lol9;"/></QBXMLMsgsRs></QBXML>'
)
HOSTILE = {
    "external-entity": f'<?xml version="1.0"?>{PASSWD}<QBXML><QBXMLMsgsRs>'
    '<CustomerAddRs statusCode="0" statusSeverity="Info" statusMessage="&e;"/>'
    "</QBXMLMsgsRs></QBXML>",
    "billion-laughs": LAUGHS,
    "doctype-in-utf16": f'<?xml version="1.0" encoding="UTF-16"?>{PASSWD}<QBXML>'
    '<QBXMLMsgsRs><CustomerAddRs statusCode="0" statusSeverity="Info"><CustomerRet>'
    "<Name>&e;</Name></CustomerRet></CustomerAddRs></QBXMLMsgsRs></QBXML>".encode("utf-16"),
    "undeclared-entity": '<QBXML><QBXMLMsgsRs><CustomerAddRs statusCode="0" '
    'statusSeverity="Info" statusMessage="&e;"/></QBXMLMsgsRs></QBXML>',
    "not-xml": "QuickBooks POS is not supported",
    "empty": "",
    "truncated": "<QBXML><QBXMLMsgsRs><CustomerAddRs",
    "soap-root": (FIXTURES / "receiveResponseXML.error3100.request.xml").read_text(),
    "request-not-response": request_message([customer_add("w1", {"Name": "A"})]).encode(),
    "no-status-code": '<QBXML><QBXMLMsgsRs><CustomerAddRs statusSeverity="Info"/>'
    "</QBXMLMsgsRs></QBXML>",
    "bad-count": '<QBXML><QBXMLMsgsRs><CustomerQueryRs statusCode="0" statusSeverity="Info"'
    ' iteratorRemainingCount="many"/></QBXMLMsgsRs></QBXML>',
}


@pytest.mark.parametrize("xml", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_or_malformed_qbxml_is_refused(xml):
    with pytest.raises(QbxmlRefused) as refused:
        responses_parse(xml)
    assert "root:" not in str(refused.value)
    assert "lollol" not in str(refused.value)


@pytest.mark.parametrize("xml", [HOSTILE["external-entity"], HOSTILE["doctype-in-utf16"]])
def test_the_session_checks_refuse_hostile_xml_too(xml):
    with pytest.raises(QbxmlRefused):
        company_file_id(xml, OWNER)
    with pytest.raises(QbxmlRefused):
        host_versions(xml)


@pytest.mark.parametrize("kind", [bytes, str])
def test_a_response_over_the_size_limit_is_refused_before_parsing(kind):
    body = b"<QBXML><QBXMLMsgsRs>" + b" " * MAX_RESPONSE_BYTES + b"</QBXMLMsgsRs></QBXML>"
    with pytest.raises(QbxmlRefused, match="bytes"):
        responses_parse(body if kind is bytes else body.decode())


# The first sendRequestXML's host and company answer


def test_company_file_id_is_the_file_id_stored_under_our_owner_id():
    assert company_file_id(HCP_RESPONSE, OWNER) == FILE_ID


@pytest.mark.parametrize("owner", [OWNER.lower(), OWNER.strip("{}"), f" {OWNER.lower()} "])
def test_company_file_id_compares_owner_ids_as_guids(owner):
    assert company_file_id(HCP_RESPONSE, owner) == FILE_ID


def test_company_file_id_is_none_for_another_owner_or_without_a_company():
    assert company_file_id(HCP_RESPONSE, "{00000000-0000-0000-0000-000000000001}") is None
    assert company_file_id(NO_MATCH, OWNER) is None


def test_host_versions_lists_the_supported_qbxml_versions():
    versions = host_versions(HCP_RESPONSE)
    assert versions[0] == "1.0"
    assert versions[-1] == "13.0"
    assert len(versions) == 16
    assert host_versions(NO_MATCH) == []


def test_customers_by_id_asks_for_each_list_id():
    request = qbxml.customers_by_id("stale", ["80000001-1", "80000002-1"])

    assert_valid(qbxml.request_message([request]))
    assert [e.text for e in request.findall("ListID")] == ["80000001-1", "80000002-1"]
    with pytest.raises(ValueError):
        qbxml.customers_by_id("stale", [])
