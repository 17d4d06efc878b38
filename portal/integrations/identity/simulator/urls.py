"""Mounted at ``/sim/identity/`` when ``SIMULATORS_ENABLED`` (portal/simulators/urls.py)."""

from django.urls import path

from portal.integrations.identity.simulator import views

app_name = "identity"
urlpatterns = [path("", views.api, name="api")]
