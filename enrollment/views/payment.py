"""Views: payment (see enrollment/urls.py)."""

urlpatterns: list = []
