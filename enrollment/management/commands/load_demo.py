from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

DEMO_USER, DEMO_PASSWORD = "admin", "admin-demo-2025"


class Command(BaseCommand):
    help = "Demo data for make run: a staff account (development only). Idempotent."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("演示数据不能在生产环境加载。")
        User = get_user_model()
        if not User.objects.filter(username=DEMO_USER).exists():
            User.objects.create_superuser(DEMO_USER, password=DEMO_PASSWORD)
        self.stdout.write(f"demo staff account: {DEMO_USER} / {DEMO_PASSWORD} at /admin/")
