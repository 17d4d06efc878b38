"""The payment simulator, mounted at ``/sim/payments/`` when ``SIMULATORS_ENABLED``."""

from django.urls import include, path

from portal.integrations.payments.simulator import cashier_views

app_name = "payments_simulator"

urlpatterns = [
    path("wechatpay/", include("portal.integrations.payments.simulator.wechatpay_views")),
    path("alipay/", include("portal.integrations.payments.simulator.alipay_views")),
    path("cashier/<str:transaction_id>/", cashier_views.cashier, name="cashier"),
    path("contract/<str:contract_id>/", cashier_views.contract_sign, name="contract_sign"),
]
