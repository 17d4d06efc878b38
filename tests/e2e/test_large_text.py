"""An elderly resident switches to large text on a phone; the choice stays on every page."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def font_size(page) -> float:
    return float(page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)"))


def test_large_text_switch_persists_across_pages(phone, products):
    phone.goto("/")
    assert "天马·医惠保" in phone.content()
    normal = font_size(phone)
    phone.get_by_role("button", name="大字版").click()
    phone.wait_for_load_state()
    assert font_size(phone) > normal
    phone.get_by_role("link", name="武威市·天马·医惠保").click()
    phone.wait_for_load_state()
    assert "基础版" in phone.content()
    assert font_size(phone) > normal  # still large on the next page
    phone.get_by_role("button", name="标准字体").click()
    phone.wait_for_load_state()
    assert font_size(phone) == normal
