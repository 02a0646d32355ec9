"""Form widgets shared by the apps."""

from __future__ import annotations

from django import forms
from django.template.loader import render_to_string


class PickerInput(forms.Widget):
    """An autocomplete picker (templates/partials/picker.html, static/agileml/picker.js).

    The form posts the chosen result's ``field`` (an id, a key); the field's own validation and the
    service still check it. ``url`` (the autocomplete endpoint, which names the project) and
    ``labels`` (what to show for values already chosen) are set per request by the form.
    """

    def __init__(self, *, field: str = "id", free: bool = False, placeholder: str = "", attrs=None) -> None:
        super().__init__(attrs)
        self.field = field
        self.free = free
        self.placeholder = placeholder
        self.url = ""
        self.labels: dict[str, str] = {}

    def render(self, name, value, attrs=None, renderer=None) -> str:
        attrs = self.build_attrs(self.attrs, attrs)
        value = "" if value is None else str(value)
        context = {
            "name": name,
            "id": attrs.get("id") or f"id_{name}",
            "url": self.url,
            "field": self.field,
            "free": self.free,
            "value": value,
            "text": self.labels.get(value, value),
            "placeholder": self.placeholder,
            "invalid": "is-invalid" in attrs.get("class", ""),
            "testid": f"{name}-picker",
        }
        return render_to_string("partials/picker.html", context)

    def value_from_datadict(self, data, files, name):
        return data.get(name)
