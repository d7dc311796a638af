"""QuickBooks' request processor: a qbXML request message in, a response message out, as the
Web Connector relays them.

One *Rs per *Rq, in order, echoing requestID. Under stopOnError (and rollbackOnError, which
the fake treats alike) the first Error ends the message; continueOnError answers every request.
A message QuickBooks cannot read (malformed, a DOCTYPE or entity, no onError) and a scripted
hresult fault raise `QbRequestError`: the Web Connector then sends that hresult to
receiveResponseXML with no response. Scripted status faults answer their request first.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from lxml import etree

from connectors.sandbox.qbd import errors, services
from connectors.sandbox.qbd.models import SandboxQbCompany, SandboxWcSession
from connectors.sandbox.qbd.qbxml import (
    aggregate_build,
    answer_element,
    child_text,
    children_text,
    element_data,
    message_parse,
    response_message,
)
from connectors.sandbox.qbd.queries import Context, deleted_answer, query_answer, record_ret

Handler = Callable[[Context, etree._Element], etree._Element]

QBXML_VERSIONS = (
    *("1.0", "1.1", "2.0", "2.1", "3.0", "4.0", "4.1", "5.0", "6.0", "7.0", "8.0", "9.0"),
    *("10.0", "11.0", "12.0", "13.0", "14.0", "15.0", "16.0"),
)
# The QuickBooks release behind the highest qbXML version a company supports (name, major).
PRODUCTS = {
    "12.0": ("QuickBooks Pro 2013", "23"),
    "13.0": ("QuickBooks Pro 2014", "24"),
    "14.0": ("QuickBooks Pro 2015", "25"),
    "15.0": ("QuickBooks Pro 2021", "31"),
    "16.0": ("QuickBooks Pro 2023", "33"),
}


def process(
    company: SandboxQbCompany, request_xml: str, *, session: SandboxWcSession | None = None
) -> str:
    """Answer a request message as QuickBooks would, or raise `QbRequestError`."""
    message_set = message_parse(request_xml)
    requests = list(message_set.iterchildren(etree.Element))
    if any(not request.tag.endswith("Rq") for request in requests):
        raise errors.parse_error()
    ctx = Context(company=company, session=session)
    stop_on_error = message_set.get("onError") != "continueOnError"
    fault = services.fault_take(
        company=company, request_types=[request.tag for request in requests], hresult=True
    )
    if fault is not None:
        raise errors.QbRequestError(fault.hresult, fault.message or errors.PARSE_MESSAGE)
    with transaction.atomic():
        answers = []
        for request in requests:
            answer = _answer(ctx, request)
            answers.append(answer)
            if stop_on_error and answer.get("statusSeverity") == "Error":
                break
    return response_message(answers)


def hcp_response(company: SandboxQbCompany, owner_id: str) -> str:
    """What QBWC sends as strHCPResponse on a session's first sendRequestXML: HostQueryRs,
    CompanyQueryRs (with the FileID stored under `owner_id`, if any) and PreferencesQueryRs."""
    ctx = Context(company=company)
    company_request = etree.Element("CompanyQueryRq")
    etree.SubElement(company_request, "OwnerID").text = owner_id
    return response_message(
        [
            _host(ctx, etree.Element("HostQueryRq")),
            _company(ctx, company_request),
            _preferences(ctx, etree.Element("PreferencesQueryRq")),
        ]
    )


def _answer(ctx: Context, request: etree._Element) -> etree._Element:
    fault = services.fault_take(company=ctx.company, request_types=[request.tag], hresult=False)
    if fault is not None and fault.status_code is not None:
        return answer_element(request, fault.status_code, fault.message)
    handler = HANDLERS.get(request.tag)
    try:
        if handler is None:
            raise errors.not_supported(request.tag)
        with transaction.atomic():
            return handler(ctx, request)
    except errors.QbStatusError as refused:
        return answer_element(request, refused.code, refused.message)


def _ok(request: etree._Element, *rets: etree._Element) -> etree._Element:
    answer = answer_element(request, 0, errors.STATUS_OK)
    answer.extend(rets)
    return answer


# --- host, company, preferences ---------------------------------------------------------------


def _host(ctx: Context, request: etree._Element) -> etree._Element:
    top = ctx.company.qbxml_version
    product, major = PRODUCTS.get(top, PRODUCTS["13.0"])
    versions = [v for v in QBXML_VERSIONS if _version_key(v) <= _version_key(top)]
    data = {
        "ProductName": product,
        "MajorVersion": major,
        "MinorVersion": "0",
        "Country": ctx.company.country,
        "SupportedQBXMLVersion": versions,
        "IsAutomaticLogin": False,
        "QBFileMode": "SingleUser",
    }
    return _ok(request, aggregate_build("HostRet", data, tuple(data)))


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _company(ctx: Context, request: etree._Element) -> etree._Element:
    """CompanyRet, with a FileID DataExtRet for each OwnerID asked for that has one."""
    extensions = []
    for owner_id in children_text(request, "OwnerID"):
        file_id = services.file_id_for(ctx.company, owner_id) if owner_id != "0" else None
        if file_id:
            extensions.append(
                {
                    "OwnerID": owner_id,
                    "DataExtName": "FileID",
                    "DataExtType": "STR255TYPE",
                    "DataExtValue": file_id,
                }
            )
    data = {
        "IsSampleCompany": False,
        "CompanyName": ctx.company.name,
        "LegalCompanyName": ctx.company.name,
        "DataExtRet": extensions,
    }
    return _ok(request, aggregate_build("CompanyRet", data, tuple(data)))


def _preferences(ctx: Context, request: etree._Element) -> etree._Element:
    data = {
        "AccountingPreferences": {
            "IsUsingAccountNumbers": False,
            "IsRequiringAccounts": True,
            "IsUsingClassTracking": False,
            "IsUsingAuditTrail": True,
            "IsAssigningJournalEntryNumbers": True,
        },
        "MultiCurrencyPreferences": {"IsMultiCurrencyOn": False},
        "PurchasesAndVendorsPreferences": {
            "IsUsingInventory": True,
            "DaysBillsAreDue": 10,
            "IsAutomaticallyUsingDiscounts": False,
        },
        "ReportsPreferences": {
            "AgingReportBasis": "AgeFromDueDate",
            "SummaryReportBasis": "Accrual",
        },
        "CurrentAppAccessRights": {
            "IsAutomaticLoginAllowed": False,
            "IsPersonalDataAccessAllowed": False,
        },
    }
    return _ok(request, aggregate_build("PreferencesRet", data, tuple(data)))


# --- customer writes --------------------------------------------------------------------------


def _customer_add(ctx: Context, request: etree._Element) -> etree._Element:
    add = request.find("CustomerAdd")
    if add is None:
        raise errors.parse_error()
    data = element_data(add)
    opening = data.pop("OpenBalance", None)
    data.pop("OpenBalanceDate", None)
    if opening:
        data["Balance"] = data["TotalBalance"] = opening
    record = services.record_create(company=ctx.company, kind="Customer", data=data)
    return _ok(request, record_ret(record, ctx.zone))


def _customer_mod(ctx: Context, request: etree._Element) -> etree._Element:
    """ListID and EditSequence are required: 3120 for an unknown customer, 3200 for a stale
    EditSequence. The other fields change only when given; an empty one is cleared."""
    mod = request.find("CustomerMod")
    list_id = child_text(mod, "ListID") if mod is not None else None
    edit_sequence = child_text(mod, "EditSequence") if mod is not None else None
    if mod is None or list_id is None or edit_sequence is None:
        raise errors.parse_error()
    record = services.record_find(company=ctx.company, record_id=list_id, kinds=["Customer"])
    if record is None:
        raise errors.not_found(list_id)
    changes = {k: v for k, v in element_data(mod).items() if k not in ("ListID", "EditSequence")}
    record = services.record_modify(record=record, changes=changes, edit_sequence=edit_sequence)
    return _ok(request, record_ret(record, ctx.zone))


HANDLERS: dict[str, Handler] = {
    "HostQueryRq": _host,
    "CompanyQueryRq": _company,
    "PreferencesQueryRq": _preferences,
    "CustomerQueryRq": query_answer,
    "ItemQueryRq": query_answer,
    "InvoiceQueryRq": query_answer,
    "ListDeletedQueryRq": deleted_answer,
    "TxnDeletedQueryRq": deleted_answer,
    "CustomerAddRq": _customer_add,
    "CustomerModRq": _customer_mod,
}
