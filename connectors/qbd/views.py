"""The Web Connector's support page (the .qwc's AppSupport: QBWC checks that it answers 200,
and a person reading it learns what the connection is doing), and the .qwc download."""

from __future__ import annotations

from uuid import UUID

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from connectors.qbd.models import QbdCompany
from connectors.qbd.qwc import qwc_document, qwc_filename


def support(request: HttpRequest, file_id: UUID) -> HttpResponse:
    company = get_object_or_404(QbdCompany.objects.select_related("connection"), file_id=file_id)
    sessions = company.sessions.all()[:10]
    return render(request, "qbd/support.html", {"company": company, "sessions": sessions})


@staff_member_required
def qwc_download(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(QbdCompany.objects.select_related("connection"), pk=pk)
    response = HttpResponse(qwc_document(company), content_type="application/x-qwc")
    response["Content-Disposition"] = f'attachment; filename="{qwc_filename(company)}"'
    return response
