import pytest

from backlog import services
from backlog.models import StateChange


@pytest.mark.django_db
def test_story_through_its_states(flow):
    po = flow.actor("po1")
    story = services.story_create(
        actor=po, scrum_team=flow.scrum_teams[0], title="Export", points=3, criteria=["csv works"]
    )
    for state in ["ready", "in_progress", "in_review"]:
        story = services.story_transition(actor=po, story=story, to_state=state)
    services.criterion_check(actor=po, criterion=story.criteria.get(), checked=True)
    story = services.story_transition(actor=po, story=story, to_state="done")
    assert list(StateChange.objects.filter(story=story).values_list("to_state", flat=True)) == [
        "backlog",
        "ready",
        "in_progress",
        "in_review",
        "done",
    ]
