"""Shared field options of the enrollment models."""

from django.core.validators import MaxValueValidator, MinValueValidator

MONEY = {"max_digits": 12, "decimal_places": 2}
RATIO = {"max_digits": 5, "decimal_places": 4, "validators": [MinValueValidator(0), MaxValueValidator(1)]}
