from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from portal import views

admin.site.site_header = "惠民保管理后台"
admin.site.site_title = "惠民保管理后台"
admin.site.index_title = "管理"

urlpatterns = [
    path("", views.home, name="home"),
    path("products/<slug:slug>/", views.product_detail, name="product_detail"),
    path("text-size/", views.text_size, name="text_size"),
    path("health/", views.Readiness.as_view(), name="health"),
    path("health/live/", views.liveness, name="health_live"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(("claims.api", "claims_api"))),
    path("claims/", include("claims.views")),
    path("", include("supervision.views")),
    path("", include("enrollment.urls")),
]

if settings.SIMULATORS_ENABLED:
    urlpatterns += [
        path("sim/sms/", include("portal.integrations.sms.simulator.urls")),
        path("sim/payments/", include("portal.integrations.payments.simulator.urls")),
        path("sim/hsa/", include("portal.integrations.hsa.simulator.urls")),
        path("sim/", include("portal.simulators.urls")),
    ]

handler404 = "portal.views.not_found"
handler500 = "portal.errors.server_error"
