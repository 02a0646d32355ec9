"""MLflow's soft delete and restore of runs and experiments, and experiments inside a project.

A deleted run keeps all its data and is hidden from lists and searches until it is restored;
when it is attached to a ticket, the ticket's history records who deleted or restored it.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from experiments.tracking.models import MAX_RUN_NAME_LENGTH, Experiment, Run
from tickets import services as ticket_services
from tickets.models import Project, Role

CANNOT_DELETE = "Only a lead of the project or the person who started the run may delete or restore it."


def _check_may_delete(run: Run, actor: AbstractBaseUser) -> None:
    role = getattr(run.project, "role", None)
    if role == Role.LEAD or (run.started_by_id is not None and run.started_by_id == actor.pk):
        return
    raise PermissionDenied(CANNOT_DELETE)


@transaction.atomic
def run_delete(*, run: Run, actor: AbstractBaseUser) -> Run:
    """Hide ``run`` (MLflow's ``delete_run``); a lead or its author may. Deleting twice changes nothing."""
    _check_may_delete(run, actor)
    if run.deleted_at is None:
        run.deleted_at = timezone.now()
        run.save(update_fields=["deleted_at"])
        if run.ticket_id:
            ticket_services.ticket_record_run_deletion(
                ticket=run.ticket, run_name=run.display_name, deleted=True, actor=actor
            )
    return run


@transaction.atomic
def run_restore(*, run: Run, actor: AbstractBaseUser) -> Run:
    """Show a deleted run again (MLflow's ``restore_run``)."""
    _check_may_delete(run, actor)
    if run.deleted_at is not None:
        run.deleted_at = None
        run.save(update_fields=["deleted_at"])
        if run.ticket_id:
            ticket_services.ticket_record_run_deletion(
                ticket=run.ticket, run_name=run.display_name, deleted=False, actor=actor
            )
    return run


def experiment_create(*, project: Project, name: str, user: AbstractBaseUser | None) -> Experiment:
    """A named experiment in ``project``; a deleted one of that name must be restored instead."""
    name = str(name).strip()
    if not name or len(name) > MAX_RUN_NAME_LENGTH:
        raise ValidationError({"name": f"An experiment needs a name of 1 to {MAX_RUN_NAME_LENGTH} characters."})
    if name == project.key:
        raise ValidationError({"name": f"{name!r} is the project's own experiment; it exists already."})
    try:
        with transaction.atomic():
            return Experiment.objects.create(project=project, name=name, created_by=user)
    except IntegrityError:
        raise ValidationError(
            {"name": f"Experiment {name!r} already exists in project {project.key} (restore it if it was deleted)."}
        ) from None


def experiment_set_deleted(*, experiment: Experiment, deleted: bool) -> Experiment:
    """Soft delete (or restore) a named experiment; its runs stay and are hidden with it."""
    experiment.deleted_at = timezone.now() if deleted else None
    experiment.save(update_fields=["deleted_at"])
    return experiment
