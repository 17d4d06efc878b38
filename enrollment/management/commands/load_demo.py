from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from enrollment import services
from enrollment.models import ProductVersion

DEMO_USER, DEMO_PASSWORD = "admin", "admin-demo-2025"
# Every demo staff account has the same authenticator (development only; README "Staff access").
DEMO_TOTP_KEY = b"hmb-demo-totp-2025!!"
DEMO_STAFF = ("admin", "bureau", "service", "insurer", "counter")
DEMO_FEED_KEY, DEMO_FEED_SECRET = "demo-feed", "demo-feed-secret-2025"


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
        self._demo_feed()
        self._demo_giving(f"wuwei-{today.year + 1}-demo", f"weihai-{today.year + 1}-demo")
        self._demo_supervision(today.year + 1)
        self._demo_carriers()
        self._demo_second_factor()
        self.stdout.write(f"demo staff account: {DEMO_USER} / {DEMO_PASSWORD} at /admin/")

    def _demo_second_factor(self) -> None:
        """One known authenticator for the demo staff accounts, so the second step can be passed."""
        import time
        from base64 import b32encode

        from django_otp.oath import TOTP
        from django_otp.plugins.otp_totp.models import TOTPDevice

        for user in get_user_model().objects.filter(username__in=DEMO_STAFF, is_staff=True):
            if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
                TOTPDevice.objects.create(user=user, name="演示身份验证器", key=DEMO_TOTP_KEY.hex(), confirmed=True)
        totp = TOTP(DEMO_TOTP_KEY)
        totp.time = time.time()
        self.stdout.write(f"demo second factor for {', '.join(DEMO_STAFF)}: TOTP secret {b32encode(DEMO_TOTP_KEY).decode()} "
                          f"(add it to an authenticator app, or `oathtool --totp -b <secret>`); code now {totp.token():06d}")

    def _demo_supervision(self, year: int) -> None:
        """District populations (sample figures) and one account per supervision role."""
        from django.contrib.auth.models import Group

        from enrollment.models import CoInsurer, Program
        from supervision.models import DistrictPopulation, InsurerStaff

        districts = {"wuwei": [("620602", "凉州区", 820000), ("620621", "民勤县", 190000), ("620622", "古浪县", 300000),
                               ("620623", "天祝藏族自治县", 150000)],
                     "weihai": [("371002", "环翠区", 620000), ("371003", "文登区", 480000), ("371082", "荣成市", 560000),
                                ("371083", "乳山市", 390000)]}
        for program in Program.objects.filter(code__in=districts):
            for code, name, eligible in districts[program.code]:
                DistrictPopulation.objects.get_or_create(program=program, year=year, region_code=code,
                                                         defaults={"name": name, "eligible": eligible})
        User = get_user_model()  # noqa: N806
        lead = CoInsurer.objects.filter(program__code="wuwei", is_lead=True).first()
        for username, group in (("bureau", "医保局监管"), ("service", "客服"), ("insurer", "保险公司")):
            if User.objects.filter(username=username).exists() or (group == "保险公司" and lead is None):
                continue
            user = User.objects.create_user(username, password=DEMO_PASSWORD, is_staff=True)
            user.groups.add(Group.objects.get(name=group))
            if group == "保险公司":
                InsurerStaff.objects.create(user=user, coinsurer=lead)
        self.stdout.write(f"demo supervision accounts: bureau, insurer, service / {DEMO_PASSWORD} at /supervision/")
        from enrollment.models import ServicePoint

        wuwei = Program.objects.filter(code="wuwei").first()
        if wuwei is not None:
            ServicePoint.objects.get_or_create(program=wuwei, name="凉州区服务网点（演示）",
                                               defaults={"address": "武威市凉州区（演示地址）"})
            if not User.objects.filter(username="counter").exists():
                user = User.objects.create_user("counter", password=DEMO_PASSWORD, is_staff=True)
                user.groups.add(Group.objects.get(name="柜面经办"))
            self.stdout.write(f"demo counter account: counter / {DEMO_PASSWORD} at /counter/")

    def _demo_carriers(self) -> None:
        """The simulated carriers know two demo mobiles, so the three-factor check can pass (README)."""
        from portal.integrations.identity.simulator import carrier

        for phone, id_number, name in (("13800000001", "620602197505201231", "张桂兰"),
                                       ("13800000002", "371002198001011232", "王建国")):
            carrier.line_set(phone=phone, id_number=id_number, name=name)
        self.stdout.write("demo carrier records: 13800000001 张桂兰, 13800000002 王建国")

    def _demo_feed(self) -> None:
        """A signing key for the settlement API, so the demo can post records (see README)."""
        from claims.models import SettlementSource
        from enrollment.models import Program
        from portal import crypto

        program = Program.objects.order_by("id").first()
        if program and not SettlementSource.objects.filter(key_id=DEMO_FEED_KEY).exists():
            SettlementSource.objects.create(code=DEMO_FEED_KEY, name="演示结算接口", program=program,
                                            key_id=DEMO_FEED_KEY, secret_cipher=crypto.encrypt(DEMO_FEED_SECRET))
            self.stdout.write(f"demo settlement feed key: {DEMO_FEED_KEY} / {DEMO_FEED_SECRET} ({program})")

    def _demo_giving(self, wuwei_slug: str, weihai_slug: str) -> None:
        """A 献爱心 campaign open to individual donors, and Weihai's charity fund."""
        from decimal import Decimal

        from enrollment import organizations
        from enrollment.models import Campaign, CharityFund, Plan

        plan = Plan.objects.filter(version__slug=wuwei_slug, code="basic").first()
        if plan and not Campaign.objects.filter(name="为困难群众送保障（演示）").exists():
            organizations.campaign_create(organization=None, by=None, kind="xianai", name="为困难群众送保障（演示）",
                                          plan=plan, target_group="低保对象、特困人员", target_count=500,
                                          budget=Decimal("34500.00"), description="演示活动：个人爱心人士可上传受助人名单。",
                                          target_rule="hardship",
                                          hardship_statuses=["medical_assistance", "dibao", "tekun", "monitored"])
            self.stdout.write("demo campaign: 为困难群众送保障（演示）")
        weihai = Plan.objects.filter(version__slug=weihai_slug).select_related("version__program").first()
        if weihai and not CharityFund.objects.filter(program=weihai.version.program).exists():
            CharityFund.objects.create(program=weihai.version.program, name="“威你保”爱心基金（演示）")
            self.stdout.write("demo charity fund: “威你保”爱心基金（演示）")
