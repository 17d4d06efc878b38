from celery import shared_task


@shared_task(acks_late=True)
def pull_sms_receipts() -> int:
    """Record the delivery receipts the gateway has for us (every minute, Celery beat)."""
    from portal.integrations import sms

    return sms.receipts_pull()
