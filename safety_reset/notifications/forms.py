"""The email-preferences form: digest and reminders on/off (escalations cannot be turned off)."""

from django import forms

from safety_reset.inventory.models import Person

from .models import NotificationSettings


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = Person
        fields = ["digest_enabled", "reminders_enabled"]
        labels = {
            "digest_enabled": "Weekly digest (Monday morning in my time zone)",
            "reminders_enabled": "Deadline reminders (at most one email a day)",
        }


class NoticeSettingsForm(forms.ModelForm):
    """How each kind of notice reaches the person, and whether at night."""

    class Meta:
        model = NotificationSettings
        fields = [*NotificationSettings.CHOICE_FIELDS, "during_quiet_hours"]
