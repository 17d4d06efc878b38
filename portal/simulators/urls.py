"""Pages of the local simulators (development and tests only; not routed in production)."""

from django.urls import include, path

app_name = "simulators"

urlpatterns = [
    path("sms/", include("portal.simulators.sms_views")),
    path("pay/", include("portal.simulators.payment_views")),
]
