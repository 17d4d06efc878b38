from celery import shared_task

from portal.integrations.payments.simulator import provider
from portal.integrations.payments.simulator.models import SimNotification


class NotificationNotTaken(Exception):
    pass


@shared_task(bind=True, max_retries=None, acks_late=True)
def deliver_notification(self, note_id: int) -> str:
    """One attempt; refused or unreachable attempts are retried on the provider's own schedule."""
    outcome = provider.deliver(note_id)
    if outcome in ("taken", "missing"):
        return outcome
    note = SimNotification.objects.filter(pk=note_id).first()
    schedule = provider.RETRY_SCHEDULE.get(note.channel, []) if note else []
    if self.request.retries >= len(schedule):
        return f"gave up: {outcome}"
    raise self.retry(exc=NotificationNotTaken(outcome), countdown=schedule[self.request.retries])


@shared_task(acks_late=True)
def complete_refund(refund_id: int) -> str:
    refund = provider.refund_complete(refund_id)
    return refund.status if refund else "missing"
