import pgtrigger
from django.db import models


class AccessLog(models.Model):
    """One staff read of personal data: a record's page, a document, a search or an export. Written only
    by ``portal.staff.access.access_record``; rows are never changed or removed (a database trigger
    refuses UPDATE and DELETE, and the admin offers neither, not even to superusers)."""

    VIEW, SEARCH, DOWNLOAD, EXPORT = "view", "search", "download", "export"
    ACTIONS = [(VIEW, "查看"), (SEARCH, "检索"), (DOWNLOAD, "下载文件"), (EXPORT, "导出")]

    at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    user_id = models.BigIntegerField("工作人员编号", db_index=True)  # no foreign key: the log outlives accounts
    username = models.CharField("工作人员", max_length=150, db_index=True)
    action = models.CharField("操作", max_length=10, choices=ACTIONS)
    object_type = models.CharField("对象类型", max_length=100, db_index=True)
    object_id = models.CharField("对象编号", max_length=100, blank=True, db_index=True)
    count = models.PositiveIntegerField("记录数", default=1)
    route = models.CharField("页面", max_length=200)  # the URL's name, never its query string
    detail = models.CharField("说明", max_length=300, blank=True)
    ip = models.GenericIPAddressField("IP 地址", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "员工访问日志"
        ordering = ["-at", "-pk"]
        triggers = [pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.get_action_display()} {self.object_type} {self.object_id}"
