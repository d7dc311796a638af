"""Related lists: the records of one module related to a record of another (a Deal's
Products), listed, related and delinked one at a time.

References: https://www.zoho.com/crm/developer/docs/api/v8/get-related-records.html,
https://www.zoho.com/crm/developer/docs/api/v8/update-related-records.html,
https://www.zoho.com/crm/developer/docs/api/v8/delink-rel-records.html
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from connectors.sandbox.zoho import crm_query
from connectors.sandbox.zoho.common import empty_answer, json_answer, json_body
from connectors.sandbox.zoho.crm_api import crm_error, invalid_module, write_credits
from connectors.sandbox.zoho.crm_schema import module_for
from connectors.sandbox.zoho.crm_views import crm_endpoint
from connectors.sandbox.zoho.models import CrmOrg, CrmRelation

# (module, related list) -> the module the related list's records belong to.
RELATED_LISTS = {("Deals", "Products"): "Products", ("Products", "Deals"): "Deals"}


def _no_such_list() -> HttpResponse:
    """A related list the module does not have: Zoho knows no such path."""
    return crm_error(
        "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", 404
    )


def _invalid_id(record_id: str) -> HttpResponse:
    return crm_error(
        "INVALID_DATA", "the id given seems to be invalid", 400, id=record_id, resource_path_index=1
    )


@crm_endpoint("modules")
def related_view(
    request: HttpRequest, org: CrmOrg, module: str, record_id: str, related_list: str
) -> HttpResponse:
    """GET: the related records, as a module's records are listed (204 when there is none)."""
    definition = module_for(org, module)
    if definition is None:
        return invalid_module()
    related_module = RELATED_LISTS.get((module, related_list))
    if related_module is None:
        return _no_such_list()
    if request.method != "GET":
        return HttpResponse(status=405)
    if not crm_query.live_records(org, definition).filter(record_id=record_id).exists():
        return _invalid_id(record_id)
    related_definition = module_for(org, related_module)
    assert related_definition is not None
    ids = CrmRelation.objects.filter(
        org=org, module=module, record_id=record_id, related_list=related_list
    ).values_list("related_id", flat=True)
    records = crm_query.live_records(org, related_definition).filter(record_id__in=list(ids))
    found = [crm_query.record_render(org, related_definition, r) for r in records]
    if not found:
        return empty_answer(204)
    count = len(found)
    return json_answer(
        {"data": found, "info": {"per_page": 200, "count": count, "page": 1, "more_records": False}}
    )


@crm_endpoint("modules", credits=write_credits)
def relation_view(
    request: HttpRequest,
    org: CrmOrg,
    module: str,
    record_id: str,
    related_list: str,
    related_id: str,
) -> HttpResponse:
    """PUT relates one record (the body's `data` may carry the relation's own fields; a Deal's
    Products have none); DELETE delinks it. Both records must exist."""
    definition = module_for(org, module)
    if definition is None:
        return invalid_module()
    related_module = RELATED_LISTS.get((module, related_list))
    if related_module is None:
        return _no_such_list()
    if request.method not in ("PUT", "DELETE"):
        return HttpResponse(status=405)
    related_definition = module_for(org, related_module)
    assert related_definition is not None
    if not crm_query.live_records(org, definition).filter(record_id=record_id).exists():
        return _invalid_id(record_id)
    if not crm_query.live_records(org, related_definition).filter(record_id=related_id).exists():
        return _invalid_id(related_id)
    key: dict[str, Any] = {
        "org": org,
        "module": module,
        "record_id": record_id,
        "related_list": related_list,
    }
    if request.method == "DELETE":
        CrmRelation.objects.filter(**key, related_id=related_id).delete()
        message = "relation removed"
    else:
        body = json_body(request)
        if request.body and not isinstance(body, dict):
            return crm_error("INVALID_DATA", "the input JSON is invalid", 400)
        CrmRelation.objects.update_or_create(**key, related_id=related_id)
        message = "relation updated"
    entry = {
        "code": "SUCCESS",
        "details": {"id": related_id},
        "message": message,
        "status": "success",
    }
    return json_answer({"data": [entry]})
