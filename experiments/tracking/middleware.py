"""A short lane through the middleware for the MLflow client's logging calls.

``runs/log-metric``, ``runs/log-batch`` and ``runs/log-parameter`` arrive hundreds of times a
second from one training script, authenticated by an API token, with small JSON bodies and
answers. The rest of the stack does nothing for them: they are CSRF-exempt, read no session,
cookie or message, serve no static file and render no page (so no CSP or frame headers), and
django-axes only watches sign-ins. Passing through it cost about as much as the request's own
work, so this middleware (placed after ``SecurityMiddleware``, which still redirects to HTTPS)
sends exactly those requests straight to the tracking dispatcher, which authenticates the token and
checks access through the access helper as on any other path. Everything else goes on as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from experiments.tracking import mlflow_api

# /mlflow[/<KEY>]/api/2.0/mlflow/runs/log-{metric,batch,parameter}: the project-scoped URI too.
_LOGGING_PATH = re.compile(
    r"^/mlflow/(?:(?P<key>[^/]+)/)?api/2\.0/mlflow/(?P<path>runs/log-(?:metric|batch|parameter))$"
)


def is_logging_call(method: str, path: str) -> bool:
    """Whether a request is one of the MLflow client's logging calls (the web server lets them
    take the next free thread before waiting pages: ``agileml.asgi``)."""
    return method == "POST" and _LOGGING_PATH.match(path) is not None


class MlflowLoggingLane:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            match = _LOGGING_PATH.match(request.path_info)
            if match is not None:
                return mlflow_api.dispatch(request, match["path"], match["key"])
        return self.get_response(request)
