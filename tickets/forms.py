from django import forms
from django.conf import settings

from tickets.access import id_or_none
from tickets.models import (
    Decision,
    Epic,
    EpicStatus,
    Outcome,
    Role,
    Sprint,
    SprintState,
    TicketKind,
    TicketStatus,
    WorkType,
    project_key_validator,
)
from tickets.selectors import TicketFilters


class ProjectCreateForm(forms.Form):
    key = forms.CharField(max_length=10, validators=[project_key_validator], help_text="e.g. AUTH")
    name = forms.CharField(max_length=120)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ENGINEER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class JiraImportForm(forms.Form):
    file = forms.FileField(help_text="Jira: Filters → Export → Export CSV (all fields).")
    dry_run = forms.BooleanField(required=False, initial=True, label="Dry run: show what would change, save nothing")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.JIRA_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"{upload.name} is {upload.size / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB "
                "(JIRA_IMPORT_MAX_BYTES). Export fewer issues at a time, or use manage.py import_jira."
            )
        return upload


def apply_errors(form: forms.Form, error) -> None:
    """Attach a service's ValidationError to the form fields it names."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


# --- Planning -----------------------------------------------------------------------------
def _member_choices(members) -> list[tuple[str, str]]:
    return [("", "Unassigned")] + [(m.user.username, m.user.get_full_name() or m.user.username) for m in members]


class TicketForm(forms.Form):
    """Create or edit a ticket. ``sprint`` is offered to leads only (planning is theirs)."""

    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=TicketKind.choices, initial=TicketKind.CODE, widget=forms.RadioSelect)
    work_type = forms.ChoiceField(choices=WorkType.choices, initial=WorkType.ALGORITHM_DEVELOPMENT)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, help_text="Markdown.")
    question = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    hypothesis = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    deliverable_url = forms.URLField(required=False, max_length=500, assume_scheme="https")
    assignee = forms.ChoiceField(required=False)
    epic = forms.ModelChoiceField(queryset=Epic.objects.none(), required=False, empty_label="No epic")
    sprint = forms.ModelChoiceField(queryset=Sprint.objects.none(), required=False, empty_label="Backlog")
    estimate = forms.IntegerField(required=False, min_value=0, max_value=1000)

    def __init__(self, *args, project, members, can_plan: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = _member_choices(members)
        self.fields["epic"].queryset = Epic.objects.filter(project=project).order_by("order", "id")
        if can_plan:
            self.fields["sprint"].queryset = Sprint.objects.filter(project=project).exclude(state=SprintState.CLOSED)
        else:
            del self.fields["sprint"]


class QuickTicketForm(forms.Form):
    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=TicketKind.choices, initial=TicketKind.CODE)
    work_type = forms.ChoiceField(choices=WorkType.choices, initial=WorkType.ALGORITHM_DEVELOPMENT)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=TicketStatus.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class AnswerForm(forms.Form):
    answer = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), help_text="Markdown.")
    outcome = forms.ChoiceField(choices=Outcome.choices, widget=forms.RadioSelect)


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class SprintForm(forms.Form):
    name = forms.CharField(max_length=120)
    goal = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    start_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            self.add_error("end_date", "The sprint must end on or after its start date.")
        return data


class SprintCloseForm(forms.Form):
    carry_over_to = forms.ChoiceField(label="Unfinished tickets go to")

    def __init__(self, *args, planned, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["carry_over_to"].choices = [(str(s.pk), s.name) for s in planned] + [("backlog", "The backlog")]


class EpicForm(forms.Form):
    title = forms.CharField(max_length=200)
    goal = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text="The business outcome.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    status = forms.ChoiceField(choices=EpicStatus.choices, initial=EpicStatus.OPEN)


class PlanFilterForm(forms.Form):
    """The backlog's filters. The page offers the project's epics and members as options."""

    q = forms.CharField(required=False, max_length=200)
    kind = forms.ChoiceField(choices=[("", "Any kind"), *TicketKind.choices], required=False)
    work_type = forms.ChoiceField(choices=[("", "Any work type"), *WorkType.choices], required=False)
    epic = forms.RegexField(regex=r"^(none|\d+)$", required=False, error_messages={"invalid": "Pick an epic."})
    assignee = forms.CharField(required=False, max_length=150)

    def filters(self) -> TicketFilters:
        """The filters to apply; an invalid form applies none (its errors are shown)."""
        if not self.is_bound or not self.is_valid():
            return TicketFilters()
        data = self.cleaned_data
        epic = data["epic"]
        return TicketFilters(
            q=data["q"],
            kind=data["kind"],
            work_type=data["work_type"],
            epic=id_or_none(epic) or (epic or None),
            assignee=data["assignee"],
        )


class DecisionForm(forms.Form):
    """One candidate ticket's row in the reassess form (prefixed with the ticket key)."""

    decision = forms.ChoiceField(choices=Decision.choices, initial=Decision.KEEP, widget=forms.RadioSelect)
    reason = forms.CharField(required=False, max_length=2000)
    title = forms.CharField(required=False, max_length=200)
    kind = forms.ChoiceField(choices=TicketKind.choices, required=False)
    work_type = forms.ChoiceField(choices=WorkType.choices, required=False)


class ReassessNoteForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
