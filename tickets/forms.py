from django import forms

from tickets.models import Role, project_key_validator


class ProjectCreateForm(forms.Form):
    key = forms.CharField(max_length=10, validators=[project_key_validator], help_text="e.g. AUTH")
    name = forms.CharField(max_length=120)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ENGINEER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


def apply_errors(form: forms.Form, error) -> None:
    """Attach a service's ValidationError to the form fields it names."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
