"""The project's URLs with the QuickBooks Desktop console mounted at /sandbox/qbd/, where
connectors/sandbox/urls.py will mount it."""

from django.urls import URLPattern, URLResolver, include, path

from connectors.sandbox import urls as sandbox_urls
from mlconnector.urls import urlpatterns as project

sandbox: list[URLPattern | URLResolver] = [
    path("qbd/", include("connectors.sandbox.qbd.urls")),
    *sandbox_urls.urlpatterns,
]
urlpatterns = [
    path("sandbox/", include((sandbox, "sandbox"))),
    *(pattern for pattern in project if str(pattern.pattern) != "sandbox/"),
]
