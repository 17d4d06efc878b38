"""Pages of the local simulators (development and tests only; not routed in production)."""

from django.urls import include, path

app_name = "simulators"

urlpatterns = [
    path("identity/", include("portal.integrations.identity.simulator.urls")),
]
