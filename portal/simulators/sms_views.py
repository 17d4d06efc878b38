"""The SMS simulator's outbox page: what a phone would have received (development and tests)."""

from django.shortcuts import render
from django.urls import path

from portal.simulators.models import SmsMessage
from portal.sms import masked_phone


def sms_outbox(request):
    phone = request.GET.get("phone", "").strip()
    messages = SmsMessage.objects.all()
    if phone:
        messages = messages.filter(phone=phone)
    rows = [
        {"phone": m.phone if phone else masked_phone(m.phone), "body": m.body, "sent_at": m.sent_at}
        for m in messages[:50]
    ]
    return render(request, "simulators/sms_outbox.html", {"rows": rows, "phone": phone})


urlpatterns = [path("", sms_outbox, name="sms_outbox")]
