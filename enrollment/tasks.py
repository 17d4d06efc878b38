"""Celery tasks: thin, each calls a service."""

from celery import shared_task

from enrollment import billing, lists, renewal
from enrollment.models import ProductVersion


@shared_task(acks_late=True)
def expire_orders() -> int:
    return billing.orders_expire()


@shared_task(acks_late=True)
def reconcile_orders() -> int:
    return billing.orders_reconcile()


@shared_task(acks_late=True)
def reconcile_bills() -> list[str]:
    """Daily, after the providers publish yesterday's bills (WeChat Pay from 10:00): compare them with
    the portal's payments and refunds; what cannot be matched is logged for finance."""
    from datetime import timedelta

    from django.utils import timezone

    from portal.integrations import payments

    day = timezone.localdate() - timedelta(days=1)
    problems = []
    for channel in payments.CHANNELS:
        try:
            problems += billing.bill_reconcile(channel=channel, day=day).discrepancies
        except payments.ProviderError as exc:
            problems.append(f"{channel}: {exc.code}")
    return problems


@shared_task(acks_late=True)
def create_renewal_orders() -> int:
    """Daily: for every version on sale, renewal orders for consenting residents not yet covered."""
    from django.utils import timezone

    today = timezone.localdate()
    created = 0
    for version in ProductVersion.objects.filter(
        status=ProductVersion.PUBLISHED, sales_start__lte=today, sales_end__gte=today, program__auto_renewal=True
    ):
        created += len(renewal.renewal_orders_create(version=version))
    return created


@shared_task(acks_late=True, reject_on_worker_lost=True)
def validate_beneficiary_list(list_id: int) -> str:
    return lists.list_validate(list_id=list_id)


@shared_task(acks_late=True)
def purge_list_files() -> int:
    return lists.list_files_purge()


@shared_task(acks_late=True)
def notify_beneficiaries(list_id: int) -> int:
    return lists.beneficiaries_notify(list_id=list_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def confirm_beneficiary_list(list_id: int) -> str:
    """A refusal is kept on the list (the page shows it); nothing to retry."""
    try:
        order = lists.list_confirm_run(list_id=list_id)
    except lists.Refused as refused:
        return refused.code
    return "ordered" if order is not None else "not_confirming"
