"""The sandbox console, mounted at /sandbox/ after the fakes' own paths (qbo/, zoho/)."""

from django.urls import path

from connectors.sandbox.console import views

app_name = "console"

record = "records/<slug:system>/<str:owner_id>/<str:entity>/"

urlpatterns = [
    path("", views.home, name="home"),
    path(record, views.record_list, name="record-list"),
    path(record + "new/", views.record_create, name="record-create"),
    path(record + "<str:record_id>/", views.record_detail, name="record-detail"),
    path(record + "<str:record_id>/edit/", views.record_edit, name="record-edit"),
    path(record + "<str:record_id>/<slug:action>/", views.record_action, name="record-action"),
    path("requests/", views.request_list, name="request-list"),
    path("requests/<int:pk>/", views.request_detail, name="request-detail"),
    path("faults/", views.faults, name="faults"),
    path("faults/<str:vendor>/", views.fault_save, name="fault-save"),
    path("deliveries/", views.delivery_list, name="delivery-list"),
    path("deliveries/<int:pk>/", views.delivery_detail, name="delivery-detail"),
    path("deliveries/<int:pk>/send/", views.delivery_send, name="delivery-send"),
]
