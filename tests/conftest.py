import pytest


@pytest.fixture
def products(db):
    """The shipped programs and product versions, as `make install` loads them."""
    from enrollment import services

    services.products_load()


@pytest.fixture
def draft_version(products):
    """An editable copy of wuwei-2025 (the shipped one is published and frozen)."""
    from enrollment import services
    from enrollment.models import ProductVersion

    return services.version_copy(version=ProductVersion.objects.get(slug="wuwei-2025"), slug="wuwei-2026", year=2026)


@pytest.fixture(autouse=True)
def fresh_redis():
    """Every test starts with an empty Redis database: no rate-limit counters or used nonces.

    The suite has its own database (tests/environment.py: 15 unless PORTAL_REDIS_DB names
    another), so this never touches a development worker's queue or cache."""
    import os

    from django.conf import settings
    from django.core.cache import cache

    db = os.environ["PORTAL_REDIS_DB"]
    assert db != "0" and (f"db={db}" in settings.REDIS_URL or settings.REDIS_URL.endswith(f"/{db}")), settings.REDIS_URL
    cache.clear()
