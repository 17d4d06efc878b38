from django.conf import settings
from django.contrib import admin  # the site is portal.staff.otp.StaffAdminSite
from django.urls import include, path

from portal import admin_search, views
from portal.staff import urls as staff_urls

urlpatterns = [
    path("", views.home, name="home"),
    path("products/<slug:slug>/", views.product_detail, name="product_detail"),
    path("text-size/", views.text_size, name="text_size"),
    path("health/", views.Readiness.as_view(), name="health"),
    path("health/live/", views.liveness, name="health_live"),
    path("admin/search/", admin_search.search, name="admin_search"),
    path("admin/", admin.site.urls),
    path("staff/second-factor/", include("portal.staff.urls")),
    path("staff/passkeys/", include((staff_urls.webauthn_patterns, "otp_webauthn"))),
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

handler400 = "portal.errors.bad_request"
handler403 = "portal.errors.permission_denied"
handler404 = "portal.views.not_found"
handler500 = "portal.errors.server_error"
