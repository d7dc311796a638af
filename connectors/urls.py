from django.urls import path

app_name = "connectors"

urlpatterns: list = []
