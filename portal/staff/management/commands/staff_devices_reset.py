"""Remove a staff member's second factors (a lost or replaced phone): authenticator, recovery codes and
passkeys. Sessions verified with them stop being verified; the next sign-in enrols again."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.staff import services


class Command(BaseCommand):
    help = "重置工作人员的二次验证设备（身份验证器、恢复码、通行密钥），下次登录时重新绑定。"

    def add_arguments(self, parser):
        parser.add_argument("username", help="工作人员用户名")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"用户名 {username} 不存在。")
        removed = services.devices_reset(user=user)
        self.stdout.write(f"{username}: 已删除 {removed} 个二次验证设备；下次登录时须重新绑定身份验证器。")
