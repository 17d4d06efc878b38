from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from enrollment import services
from enrollment.models import ProductVersion

DEMO_USER, DEMO_PASSWORD = "admin", "admin-demo-2025"


def _demo_version(source_slug: str, slug: str, today: date) -> str | None:
    """A published copy of a shipped version whose sales window is open today (demo only)."""
    if ProductVersion.objects.filter(slug=slug).exists():
        return None
    source = ProductVersion.objects.get(slug=source_slug)
    year = today.year + 1
    version = services.version_copy(version=source, slug=slug, year=year)
    version.name = f"{source.name.split('（')[0]}（{year}年度·演示）"
    version.sales_start = today - timedelta(days=7)
    version.sales_end = today + timedelta(days=60)
    version.coverage_start = date(year, 1, 1)
    version.coverage_end = date(year, 12, 31)
    version.save()
    services.version_publish(version=version)
    return slug


class Command(BaseCommand):
    help = "Demo data for make run (development only, idempotent): staff account, roster, products on sale."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("演示数据不能在生产环境加载。")
        User = get_user_model()
        if not User.objects.filter(username=DEMO_USER).exists():
            User.objects.create_superuser(DEMO_USER, password=DEMO_PASSWORD)
        call_command("load_demo_roster", stdout=self.stdout)
        today = timezone.localdate()
        for source, slug in (("wuwei-2025", f"wuwei-{today.year + 1}-demo"), ("weihai-2025", f"weihai-{today.year + 1}-demo")):
            if _demo_version(source, slug, today):
                self.stdout.write(f"demo product on sale: {slug}")
        self.stdout.write(f"demo staff account: {DEMO_USER} / {DEMO_PASSWORD} at /admin/")
