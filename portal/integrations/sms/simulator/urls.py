from django.urls import path

from portal.integrations.sms.simulator import views

app_name = "sms_simulator"

urlpatterns = [
    path("", views.outbox, name="outbox"),
    path("api/", views.api, name="api"),
]
