"""Demo material pages: the pictures and notes on a question ticket, and the picture files themselves
(re-encoded at upload, served with headers that keep a browser from treating them as anything else)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from experiments.dashboards import selectors, services
from experiments.dashboards.access import material_for_user
from experiments.dashboards.forms import DemoMaterialForm
from experiments.dashboards.material import IMAGE_MAX_BYTES, NOTE_MAX_BYTES
from experiments.dashboards.models import DemoMaterial, MaterialKind
from tickets.access import ticket_for_user
from tickets.models import Role


def material_response(material: DemoMaterial, *, download: bool = False) -> HttpResponse:
    """The stored (re-encoded) image, with headers that keep a browser from treating it as anything else."""
    if material.kind != MaterialKind.IMAGE or material.content_type not in ("image/png", "image/jpeg"):
        raise Http404("This demo material is not an image.")
    response = HttpResponse(bytes(material.content), content_type=material.content_type)
    filename = f"{material.ticket.key}-{material.pk}.{material.extension}"
    response["Content-Disposition"] = f'{"attachment" if download else "inline"}; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Length"] = str(len(response.content))
    return response


@login_required
@require_GET
def demo_material_file(request: HttpRequest, key: str, material_id: int) -> HttpResponse:
    material = material_for_user(request.user, key, material_id)
    return material_response(material, download=request.GET.get("download") == "1")


@login_required
@require_http_methods(["GET", "POST"])
def ticket_demo_material(request: HttpRequest, ticket_key: str) -> HttpResponse:
    need = Role.ENGINEER if request.method == "POST" else Role.STAKEHOLDER
    ticket = ticket_for_user(request.user, ticket_key, need=need)
    project = ticket.project
    form = DemoMaterialForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                material = _add_material(request, ticket, form.cleaned_data)
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                label = "Image" if material.kind == MaterialKind.IMAGE else "Note"
                messages.success(request, f"{label} added to {ticket.key}'s demo.")
                return redirect("ticket-demo-material", ticket_key=ticket.key)
        status = 400
    material = selectors.material_of_ticket(ticket=ticket)
    for item in material:
        item.url = reverse("demo-material", kwargs={"key": project.key, "material_id": item.pk})
    context = {
        "project": project,
        "ticket": ticket,
        "material": material,
        "form": form,
        "can_edit": project.role.allows(Role.ENGINEER),
        "is_question": ticket.is_question,
    }
    return render(request, "dashboards/demo/material.html", context, status=status)


def _add_material(request: HttpRequest, ticket, data: dict) -> DemoMaterial:
    upload = data.get("file")
    if data["kind"] == MaterialKind.IMAGE:
        if upload.size > IMAGE_MAX_BYTES:
            # Refuse before reading a byte of it.
            raise ValidationError(
                {
                    "file": f"{upload.name} is {upload.size / 1048576:.1f} MB; images may be at most "
                    f"{IMAGE_MAX_BYTES / 1048576:.1f} MB."
                }
            )
        return services.demo_material_add_image(
            ticket=ticket, actor=request.user, data=upload.read(), filename=upload.name, title=data["title"]
        )
    if upload is not None:
        if upload.size > NOTE_MAX_BYTES:
            raise ValidationError(
                {
                    "note": f"{upload.name} is {upload.size // 1024} KB; notes may be at most "
                    f"{NOTE_MAX_BYTES // 1024} KB."
                }
            )
        return services.demo_material_add_note(
            ticket=ticket, actor=request.user, text=upload.read(), filename=upload.name, title=data["title"]
        )
    return services.demo_material_add_note(ticket=ticket, actor=request.user, text=data["text"], title=data["title"])


@login_required
@require_POST
def ticket_demo_material_delete(request: HttpRequest, ticket_key: str, material_id: int) -> HttpResponse:
    ticket = ticket_for_user(request.user, ticket_key, need=Role.ENGINEER)
    material = material_for_user(request.user, ticket.project.key, material_id, need=Role.ENGINEER)
    if material.ticket_id != ticket.pk:
        raise Http404(f"Demo material {material_id} is not on {ticket.key}.")
    services.demo_material_delete(material=material)
    messages.success(request, f"Removed from {ticket.key}'s demo.")
    return redirect("ticket-demo-material", ticket_key=ticket.key)
