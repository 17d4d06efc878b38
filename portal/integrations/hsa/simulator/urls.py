"""Mounted at ``/sim/hsa/`` when ``SIMULATORS_ENABLED`` (portal/urls.py)."""

from django.urls import path

from portal.integrations.hsa.simulator import views

app_name = "hsa_simulator"
urlpatterns = [path("fsi/api/rsfComIfsService/callService", views.call_service, name="call_service")]
