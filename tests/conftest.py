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
def fresh_rate_limits():
    """Every test starts with no SMS rate-limit counters in Redis (they outlive a test run)."""
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(match=cache.make_key("sms:*")):
        client.delete(key)
