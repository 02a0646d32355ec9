"""The model pages: a project's registered models, and one model's versions with the ticket, run
and evaluation each came from. Thin: access helper → selector → render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from experiments.registry import selectors
from experiments.registry.access import model_for_user
from experiments.registry.models import CHAMPION_ALIAS, RegisteredModel
from tickets.access import project_for_user


@login_required
@require_GET
def model_list(request: HttpRequest, key: str) -> HttpResponse:
    project = project_for_user(request.user, key)
    models = selectors.models_of_project(project=project)
    return render(request, "registry/model_list.html", {"project": project, "models": models})


@login_required
@require_GET
def model_detail(request: HttpRequest, key: str, model_name: str) -> HttpResponse:
    project = project_for_user(request.user, key)
    try:
        model = model_for_user(request.user, model_name, project_key=key)
    except Http404:
        # A benchmark's model before its first promotion or registration: the page exists, empty.
        benchmark = selectors.benchmark_named(project=project, name=model_name)
        if benchmark is None:
            raise
        model = RegisteredModel(project=project, name=benchmark.name, benchmark=benchmark)
    versions = selectors.model_page(model=model) if model.pk else []
    champion = next((v for v in versions if any(a.alias == CHAMPION_ALIAS for a in v.aliases.all())), None)
    context = {
        "project": model.project,
        "model": model,
        "versions": versions,
        "champion": champion,
        "tracking_uri": request.build_absolute_uri("/mlflow"),
    }
    return render(request, "registry/model_detail.html", context)
