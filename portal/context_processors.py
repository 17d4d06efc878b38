from django.conf import settings

LARGE_TEXT_COOKIE = "large_text"


def site(request):
    """The program's name and the resident's 适老化 large-text choice, for every page."""
    return {
        "portal_name": settings.PORTAL_NAME,
        "sample_plan_label": settings.SAMPLE_PLAN_LABEL,
        "large_text": request.COOKIES.get(LARGE_TEXT_COOKIE) == "1",
    }
