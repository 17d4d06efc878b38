import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# Production fails closed: gunicorn does not run Django's checks, so the application refuses to
# load while any production check fails (portal/checks.py).
from portal.checks import refuse_to_start  # noqa: E402

refuse_to_start()
