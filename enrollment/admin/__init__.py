"""The enrollment admin, one module per area; importing the package registers every ModelAdmin."""

from enrollment.admin import counter, fund, identity, orders, organizations, persons, products  # noqa: F401
