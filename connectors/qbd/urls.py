from django.urls import path

from connectors.qbd import soap, views

app_name = "qbd"

urlpatterns = [
    path("qbwc/", soap.qbwc, name="qbwc"),
    path("qbwc/support/<uuid:file_id>/", views.support, name="support"),
    path("qbwc/company/<int:pk>/qwc/", views.qwc_download, name="qwc"),
]
