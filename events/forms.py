"""Forms of the events pages: moving or cancelling one event on the calendar, and the
roadmap (the Product Roadmap Refinement's screen)."""

from django import forms

from backlog.models import WSJF_SCALE, Epic, ProductGoal
from flow.metrics.improvement import CHOICES as IMPROVEMENT_METRICS

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


# --- The roadmap -----------------------------------------------------------------

WSJF_CHOICES = [(n, str(n)) for n in WSJF_SCALE]
WSJF_FIELDS = ("business_value", "time_criticality", "risk_reduction", "job_size")


def _sane_date(value):
    # Dates far outside any roadmap are typos; years beyond 9999 do not parse at all.
    if value is not None and not 2000 <= value.year <= 2999:
        raise forms.ValidationError("pick a date between the years 2000 and 2999")
    return value


class VersionedForm(forms.Form):
    """A roadmap form carries the version of the object the person read: the service
    refuses the write when someone else changed it meanwhile (live.md, rule 4)."""

    version = forms.IntegerField(min_value=1, max_value=BIGGEST_ID, widget=forms.HiddenInput)


class RoadmapSinceForm(forms.Form):
    """The date the "changes since" list starts from."""

    since = forms.DateField(required=False, label="Changes since")

    def clean_since(self):
        return _sane_date(self.cleaned_data["since"])


class ProductGoalForm(forms.Form):
    statement = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    target_date = forms.DateField(required=False, label="Target date")
    status = forms.ChoiceField(choices=ProductGoal.Status.choices, required=False)

    def clean_target_date(self):
        return _sane_date(self.cleaned_data["target_date"])


class MilestoneForm(forms.Form):
    name = forms.CharField(max_length=120)
    objective = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What must be measurably true at its end.",
    )
    start = forms.DateField()
    end = forms.DateField(help_text="8–10 weeks after the start is recommended.")

    def clean_start(self):
        return _sane_date(self.cleaned_data["start"])

    def clean_end(self):
        return _sane_date(self.cleaned_data["end"])

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", "a milestone ends after it starts")
        return data


class MilestoneEditForm(MilestoneForm, VersionedForm):
    pass


class EpicForm(forms.Form):
    """What the CPO writes about an epic; the milestone is one of the Flow Team's open
    milestones or none (the unscheduled lane)."""

    title = forms.CharField(max_length=200)
    description = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    acceptance_conditions = forms.CharField(
        max_length=5000,
        required=False,
        label="Acceptance conditions",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="An epic needs them to become ready.",
    )
    milestone = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)

    def __init__(self, *args, milestones=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["milestone"].choices = [("", "Unscheduled")] + [
            (m["id"], m["name"]) for m in milestones if not m["closed"]
        ]


class EpicEditForm(EpicForm, VersionedForm):
    state = forms.ChoiceField(choices=Epic.State.choices)

    def __init__(self, *args, milestones=(), current_milestone=None, **kwargs):
        super().__init__(*args, milestones=milestones, **kwargs)
        # An epic may stay in its closed milestone; it only cannot move into one.
        for m in milestones:
            if m["closed"] and m["id"] == current_milestone:
                self.fields["milestone"].choices.append((m["id"], f"{m['name']} (closed)"))


class WsjfForm(VersionedForm):
    business_value = forms.TypedChoiceField(coerce=int, choices=WSJF_CHOICES)
    time_criticality = forms.TypedChoiceField(coerce=int, choices=WSJF_CHOICES)
    risk_reduction = forms.TypedChoiceField(
        coerce=int, choices=WSJF_CHOICES, label="Risk reduction / opportunity enablement"
    )
    job_size = forms.TypedChoiceField(coerce=int, choices=WSJF_CHOICES, label="Job size")


class FeasibilityForm(VersionedForm):
    feasibility = forms.ChoiceField(
        choices=[c for c in Epic.Feasibility.choices if c[0] != Epic.Feasibility.UNASSESSED],
        widget=forms.RadioSelect,
    )
    feasibility_note = forms.CharField(
        max_length=5000, required=False, label="Note", widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean(self):
        data = super().clean()
        if (
            data.get("feasibility") in ("concerns", "infeasible")
            and not data.get("feasibility_note", "").strip()
        ):
            self.add_error("feasibility_note", "say what the concern is")
        return data


class EpicMoveForm(VersionedForm):
    """A move of one epic: by drag and drop (the neighbour it lands next to and its lane)
    or by keyboard (up, down, or to the end of another lane)."""

    direction = forms.ChoiceField(
        choices=[("", "—"), ("up", "up"), ("down", "down")], required=False
    )
    after = forms.IntegerField(min_value=1, max_value=BIGGEST_ID, required=False)
    before = forms.IntegerField(min_value=1, max_value=BIGGEST_ID, required=False)
    # "" keeps the epic's lane; "none" is the unscheduled lane; else a milestone id.
    lane = forms.RegexField(regex=r"^(none|[1-9][0-9]{0,17})?$", required=False)

    def clean(self):
        data = super().clean()
        given = [f for f in ("direction", "after", "before") if data.get(f)]
        if len(given) > 1:
            self.add_error(given[1], "name one of direction, after or before")
        return data


class MilestoneMoveForm(VersionedForm):
    direction = forms.ChoiceField(choices=[("earlier", "earlier"), ("later", "later")])


class WsjfApplyForm(forms.Form):
    """The order the CPO was shown, as "id:version" pairs separated by commas."""

    proposal = forms.RegexField(
        regex=r"^([1-9][0-9]{0,17}:[1-9][0-9]{0,17})(,[1-9][0-9]{0,17}:[1-9][0-9]{0,17})*$",
        max_length=20000,
    )

    def clean_proposal(self):
        pairs = self.cleaned_data["proposal"].split(",")
        return [tuple(int(n) for n in pair.split(":")) for pair in pairs]


# --- Flow Sprint Planning 1 (events/planning_views.py) ------------------------------


class PlanForm(forms.Form):
    """Plan a story: into a Flow Sprint of the board (its id), back to the backlog
    ("backlog"), or one column earlier or later (the card's arrows)."""

    sprint = forms.RegexField(regex=r"^(backlog|[1-9][0-9]{0,17})$", required=False)
    direction = forms.ChoiceField(
        choices=[("", ""), ("earlier", "earlier"), ("later", "later")], required=False
    )

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("sprint") and not data.get("direction"):
            raise forms.ValidationError("say where the story goes: a Flow Sprint or the backlog")
        return data


class ClaimForm(forms.Form):
    """A Scrum Team claims an epic for a Flow Sprint of the board."""

    scrum_team = forms.IntegerField(min_value=1, max_value=BIGGEST_ID, widget=forms.HiddenInput)
    epic = forms.TypedChoiceField(coerce=int, label="Epic")
    flow_sprint = forms.TypedChoiceField(coerce=int, label="For Flow Sprint")

    def __init__(self, *args, epics=(), sprints=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["epic"].choices = [("", "Choose an epic")] + [(e.pk, e.title) for e in epics]
        self.fields["flow_sprint"].choices = [(s.pk, f"Flow Sprint {s.number}") for s in sprints]


class UnclaimForm(forms.Form):
    claim = forms.IntegerField(min_value=1, max_value=BIGGEST_ID)


class DependencyRaiseForm(forms.Form):
    """The requesting team asks another team's story (s:<id>) or an epic (e:<id>) for a
    Flow Sprint."""

    target = forms.ChoiceField(label="Needs")
    needed_by = forms.TypedChoiceField(coerce=int, label="Needed by")
    description = forms.CharField(
        label="What is needed",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, targets=(), sprints=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [("", "Choose a story or an epic"), *targets]
        self.fields["needed_by"].choices = [(s.pk, f"Flow Sprint {s.number}") for s in sprints]


class ContractForm(VersionedForm):
    """One step of a dependency's contract: commit, counter, accept or renegotiate."""

    sprint = forms.TypedChoiceField(coerce=int, required=False, label="Flow Sprint")
    note = forms.CharField(max_length=2000, required=False, label="Note")

    def __init__(self, *args, sprints=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sprint"].choices = [("", "—")] + [
            (s.pk, f"Flow Sprint {s.number}") for s in sprints
        ]


# --- The Scrum of Scrums ----------------------------------------------------------

SOS_QUESTIONS = [
    ("done_since_last", "What has your team done since we last met that could affect other teams?"),
    (
        "next_until_next",
        "What will your team do before we meet again that could affect other teams?",
    ),
    (
        "impediments",
        "What impediments does your team have that may stop it reaching its Sprint Goal?",
    ),
    ("in_others_way", "Is your team about to put something in another team's way?"),
    ("dependencies", "Have we found new dependencies between teams, or a way to resolve one?"),
]
SOS_ANSWER_MAX = 5000


class SosAnswersForm(forms.Form):
    """One team's five answers, with the version the person's screen read them at."""

    read_version = forms.IntegerField(min_value=0, max_value=2**31 - 1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for slug, label in SOS_QUESTIONS:
            self.fields[slug] = forms.CharField(
                label=label, required=False, max_length=SOS_ANSWER_MAX, strip=True
            )


class SosActionForm(forms.Form):
    """A new action item: what, who owns it, by when, for which Scrum Team (optional)."""

    text = forms.CharField(label="What is to be done", max_length=300)
    owner = forms.TypedChoiceField(label="Owner", coerce=int)
    due_date = forms.DateField(label="Due", widget=forms.DateInput(attrs={"type": "date"}))
    scrum_team = forms.TypedChoiceField(
        label="Scrum Team", coerce=int, required=False, empty_value=None
    )
    metric = forms.ChoiceField(
        label="Flow metric it should move",
        required=False,
        choices=[("", "— none —"), *IMPROVEMENT_METRICS],
    )

    def __init__(self, *args, people=(), teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Choose…"), *people]
        self.fields["scrum_team"].choices = [("", "Flow Team (Flow Backlog)"), *teams]

    def clean_due_date(self):
        return _sane_date(self.cleaned_data["due_date"])


class SosSearchForm(forms.Form):
    q = forms.CharField(label="Search answers and action items", required=False, max_length=200)
    page = forms.IntegerField(label="Page", required=False, min_value=1, max_value=10**6)
