"""Forms of the product backlog page: the filters and splitting an epic into a story."""

from django import forms

from backlog.models import STORY_POINTS, Story


class BacklogFilterForm(forms.Form):
    """Which stories to show: some states, one Scrum Team (by number, as the URL says)."""

    state = forms.MultipleChoiceField(
        required=False, choices=Story.State.choices, label="State", widget=forms.SelectMultiple
    )
    team = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Team")
    # Where in the list: a page of epics, or the stories without an epic.
    page = forms.IntegerField(required=False, min_value=1, max_value=10**6, label="Page")
    without_epic = forms.BooleanField(required=False, label="Stories without an epic")

    def __init__(self, *args, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "Every team")] + [(t.number, t.name) for t in teams]


class StorySplitForm(forms.Form):
    """One story of an epic, written at refinement: the team is one the person may write
    stories for, the criteria one per line, the points on the story point scale."""

    title = forms.CharField(max_length=200, label="Title")
    team = forms.TypedChoiceField(
        coerce=int,
        label="Team",
        error_messages={"invalid_choice": "choose one of the teams you write stories for"},
    )
    criteria = forms.CharField(
        required=False, widget=forms.Textarea, label="Acceptance criteria", max_length=5000
    )
    points = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Not estimated")] + [(p, str(p)) for p in STORY_POINTS],
        label="Points",
    )

    def __init__(self, *args, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [(t.pk, t.name) for t in teams]

    def clean_criteria(self):
        lines = [line.strip() for line in self.cleaned_data["criteria"].splitlines()]
        criteria = [line for line in lines if line]
        if any(len(line) > 500 for line in criteria):
            raise forms.ValidationError("each criterion is at most 500 characters")
        return criteria
