"""Lets the Tencent SDK reach the simulator under a path (development and tests only).

The SDK sends ``Host: <endpoint>`` and signs that host; pointed at the simulator its endpoint is
``127.0.0.1:8000/sim/sms/api/``, a Host value Django refuses. For requests under ``/sim/`` this keeps
the signed value for the simulator's check (``tc3_host``) and gives Django the plain host. It is
installed only when the simulators are (``SIMULATORS_ENABLED``); Tencent's real endpoint has no path.
"""

SIGNED_HOST = "sms_simulator.signed_host"


def endpoint_host(get_response):
    def middleware(request):
        host = request.META.get("HTTP_HOST", "")
        if "/" in host and request.path.startswith("/sim/"):
            request.META[SIGNED_HOST] = host
            request.META["HTTP_HOST"] = host.split("/", 1)[0]
        return get_response(request)

    return middleware
