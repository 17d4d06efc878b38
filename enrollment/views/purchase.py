"""Views: purchase (see enrollment/urls.py)."""

urlpatterns: list = []
