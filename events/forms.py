"""Forms of the events pages: moving or cancelling one event on the calendar."""

from django import forms

# Ids are 64-bit in the database; a longer number would overflow the driver.
BIGGEST_ID = 2**63 - 1


class EventChangeForm(forms.Form):
    """Cancel an event, or move it to a new local start (the Flow Team's wall clock)."""

    event = forms.IntegerField(min_value=1, max_value=BIGGEST_ID)
    starts_at = forms.DateTimeField(required=False)
    cancel = forms.BooleanField(required=False)

    def clean_starts_at(self):
        starts_at = self.cleaned_data["starts_at"]
        # Years 1 and 9999 exist in Python but not in UTC once the Flow Team's offset applies.
        if starts_at is not None and not 1900 <= starts_at.year <= 2999:
            raise forms.ValidationError("pick a date between the years 1900 and 2999")
        return starts_at

    def clean(self):
        data = super().clean()
        if not data.get("cancel") and not data.get("starts_at") and "starts_at" not in self.errors:
            self.add_error("starts_at", "give the new start to move the event")
        return data
