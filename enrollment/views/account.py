"""Views: account (see enrollment/urls.py)."""

urlpatterns: list = []
