"""Forms of the flow pages: the metrics filters and the forecast questions."""

from django import forms


class DateInput(forms.DateInput):
    input_type = "date"


class MetricsFilterForm(forms.Form):
    """Which numbers to show: a Scrum Team or the whole Flow Team, over a date range, and
    the forecast questions asked of the stored simulation."""

    team = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Team")
    start = forms.DateField(required=False, label="From", widget=DateInput)
    end = forms.DateField(required=False, label="To", widget=DateInput)
    items = forms.IntegerField(
        required=False, min_value=1, max_value=100_000, label="When will this many be done?"
    )
    by = forms.DateField(required=False, label="How many by this date?", widget=DateInput)

    def __init__(self, *args, team_numbers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "Whole Flow Team")] + [
            (n, f"Team {n}") for n in team_numbers
        ]

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", "must be on or after the From date")
        return data
