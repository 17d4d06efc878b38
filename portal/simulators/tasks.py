from celery import shared_task

from portal.simulators import payment


class NotificationNotAccepted(Exception):
    pass


@shared_task(bind=True, max_retries=5, acks_late=True)
def send_payment_notification(self, payment_id: int) -> str:
    """The provider's asynchronous notification, retried with back-off until the merchant takes it."""
    outcome = payment.deliver(payment_id)
    if outcome == "missing":
        return outcome  # a message about a transaction this provider does not have: drop it
    if not outcome.startswith("HTTP 2"):
        raise self.retry(exc=NotificationNotAccepted(outcome), countdown=min(2**self.request.retries * 5, 300))
    return outcome
