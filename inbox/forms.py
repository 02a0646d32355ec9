from django import forms

from inbox.models import EmailChoice


class PreferenceForm(forms.Form):
    email = forms.ChoiceField(
        choices=EmailChoice.choices, widget=forms.RadioSelect, label="E-mail me about notifications"
    )
