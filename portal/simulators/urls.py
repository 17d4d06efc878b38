"""Pages of the local simulators (development and tests only; not routed in production)."""

from django.urls import include, path

app_name = "simulators"

urlpatterns = [
    path("pay/", include("portal.simulators.payment_views")),
    path("identity/", include("portal.integrations.identity.simulator.urls")),
]
