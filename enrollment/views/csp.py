"""Pages whose forms send the payer to a payment provider (pay, pay again, sign a withholding
contract) allow those providers' origins in CSP ``form-action``; every other page keeps ``'self'``."""

from functools import wraps

from portal.integrations import payments


def payment_forms(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response._csp_update = {"form-action": payments.cashier_origins()}
        return response

    return wrapper
