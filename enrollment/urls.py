"""The resident's pages. Each views module owns its routes (``urlpatterns`` in the module)."""

from django.urls import include, path

app_name = "enrollment"

urlpatterns = [
    path("account/", include("enrollment.views.account")),
    path("account/", include("enrollment.views.rights")),
    path("", include("enrollment.views.purchase")),
    path("", include("enrollment.views.payment")),
    path("", include("enrollment.views.org")),
    path("", include("enrollment.views.counter")),
    path("", include("enrollment.views.verify")),
]
