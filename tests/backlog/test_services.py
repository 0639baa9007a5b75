import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backlog import services
from backlog.models import AcceptanceCriterion, Blocker, Epic, StateChange, Story, Task
from backlog.services import planning_live_key
from sem.errors import NotFound, PermissionRefused, RuleViolation, VersionConflict
from sem.live import live_versions

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(flow):
    return services.story_create(
        actor=flow.actor("po1"),
        scrum_team=flow.scrum_teams[0],
        title="Export invoices",
        points=3,
        criteria=["CSV has every column", "Totals match"],
    )


def history(story):
    return list(StateChange.objects.filter(story=story).values_list("from_state", "to_state"))


def move(flow, story, state, who="dev1", **kw):
    return services.story_transition(actor=flow.actor(who), story=story, to_state=state, **kw)


def check_all(flow, story):
    for criterion in story.criteria.all():
        services.criterion_check(actor=flow.actor("dev1"), criterion=criterion, checked=True)


def test_creation_writes_the_first_history_row(flow, story):
    assert history(story) == [("", "backlog")]
    assert list(story.criteria.values_list("position", "text")) == [
        (1, "CSV has every column"),
        (2, "Totals match"),
    ]


def test_full_workflow_writes_one_row_per_transition(flow, story):
    for state in ("ready", "in_progress", "in_review"):
        before = StateChange.objects.count()
        story = move(flow, story, state)
        assert StateChange.objects.count() == before + 1
    check_all(flow, story)
    story = move(flow, story, "done")
    change = StateChange.objects.filter(story=story).last()
    assert (change.from_state, change.to_state, change.by) == ("in_review", "done", flow.dev1)
    assert Story.objects.get(pk=story.pk).state == "done"


@pytest.mark.parametrize(
    ("points", "criteria", "field", "message"),
    [
        (None, ["one"], "points", "ready needs an estimate (story points)"),
        (3, [], "criteria", "ready needs at least one acceptance criterion"),
    ],
)
def test_ready_needs_definition_of_ready(flow, points, criteria, field, message):
    story = services.story_create(
        actor=flow.actor("po1"),
        scrum_team=flow.scrum_teams[0],
        title="S",
        points=points,
        criteria=criteria,
    )
    version = Story.objects.get(pk=story.pk).version
    with pytest.raises(RuleViolation) as refusal:
        move(flow, story, "ready")
    assert refusal.value.detail == {field: [message]}
    assert history(story) == [("", "backlog")]
    assert Story.objects.get(pk=story.pk).version == version
    # Skipping ahead needs it just the same.
    with pytest.raises(RuleViolation):
        move(flow, story, "in_progress")


def test_done_needs_every_criterion_checked(flow, story):
    story = move(flow, story, "ready")
    story = move(flow, story, "in_progress")
    services.criterion_check(
        actor=flow.actor("dev1"), criterion=story.criteria.first(), checked=True
    )
    with pytest.raises(RuleViolation) as refusal:
        move(flow, story, "done")
    assert refusal.value.detail == {
        "criteria": ["done needs every acceptance criterion checked (1 unchecked)"]
    }
    assert history(story)[-1] == ("ready", "in_progress")


def test_backward_move_reopens_and_same_state_is_refused(flow, story):
    story = move(flow, story, "ready")
    story = move(flow, story, "in_progress")
    check_all(flow, story)
    story = move(flow, story, "done")
    story = move(flow, story, "in_progress")  # reopen
    assert history(story)[-1] == ("done", "in_progress")
    with pytest.raises(RuleViolation) as refusal:
        move(flow, story, "in_progress")
    assert refusal.value.detail == {"state": ["the story is already in progress"]}


def test_a_backward_move_needs_no_definition_and_reads_no_criteria(flow, story):
    story = move(flow, story, "in_review")
    # Its estimate and criteria gone since: moving it back still goes, reading neither.
    Story.objects.filter(pk=story.pk).update(points=None)
    AcceptanceCriterion.objects.filter(story=story).delete()
    story = Story.objects.get(pk=story.pk)
    with CaptureQueriesContext(connection) as queries:
        story = move(flow, story, "ready")
    assert history(story)[-1] == ("in_review", "ready")
    criteria = AcceptanceCriterion._meta.db_table
    assert not [q["sql"] for q in queries if criteria in q["sql"]]


def test_a_moves_history_row_has_the_storys_own_time(flow, story):
    story = move(flow, story, "ready")
    row = StateChange.objects.get(story=story, to_state="ready")
    assert row.at == Story.objects.get(pk=story.pk).updated_at == story.updated_at


def test_a_change_to_a_story_deleted_meanwhile_is_not_found_saying_so(flow, story):
    read = Story.objects.get(pk=story.pk)
    Story.objects.filter(pk=story.pk).delete()
    with pytest.raises(NotFound) as gone:
        services.story_update(
            actor=flow.actor("po1"),
            story=read,
            data={"title": "New"},
            expected_version=read.version,
        )
    assert str(gone.value) == "the story is gone"


def test_skipping_forward_is_allowed_when_ready(flow, story):
    story = move(flow, story, "in_review")
    assert history(story)[-1] == ("backlog", "in_review")


def test_unknown_state_is_refused(flow, story):
    with pytest.raises(RuleViolation) as refusal:
        move(flow, story, "shipped")
    assert refusal.value.detail == {
        "state": ["unknown state 'shipped'; one of backlog, ready, in_progress, in_review, done"]
    }


def test_blocked_story_cannot_be_done_until_cleared(flow, story):
    story = move(flow, story, "in_progress")
    check_all(flow, story)
    story = services.blocker_raise(actor=flow.actor("dev1"), story=story, reason="API down")
    with pytest.raises(RuleViolation) as refusal:
        move(flow, story, "done")
    assert refusal.value.detail == {
        "state": ["a blocked story cannot be done; clear the blocker first"]
    }
    story = services.blocker_clear(actor=flow.actor("sm1"), story=story)
    move(flow, story, "done")
    blocker = Blocker.objects.get(story=story)
    assert blocker.cleared_at is not None and blocker.cleared_by == flow.sm1


def blockers(story):
    found = Blocker.objects.filter(story=story).order_by("id")
    return list(found.values_list("reason", "raised_by", "cleared_by"))


def test_clearing_a_blocker_unblocks_the_story_and_closes_its_open_period_only(flow, story):
    other = services.story_create(
        actor=flow.actor("po1"), scrum_team=flow.scrum_teams[0], title="Import invoices"
    )
    services.blocker_raise(actor=flow.actor("dev1"), story=other, reason="No sample file")
    story = services.blocker_raise(actor=flow.actor("dev1"), story=story, reason="API down")
    story = services.blocker_clear(actor=flow.actor("sm1"), story=story)
    first_cleared = Blocker.objects.get(story=story).cleared_at
    story = services.blocker_raise(actor=flow.actor("po1"), story=story, reason="API down again")
    cleared = services.blocker_clear(actor=flow.actor("dev1"), story=story, expected_version=4)
    fresh = Story.objects.get(pk=story.pk)
    assert (cleared.version, fresh.blocked, fresh.blocked_reason, fresh.version) == (
        5,
        False,
        "",
        5,
    )
    # Each clearing closed the period open at the time; the earlier one keeps its end.
    assert blockers(story) == [
        ("API down", flow.dev1.pk, flow.sm1.pk),
        ("API down again", flow.po1.pk, flow.dev1.pk),
    ]
    assert Blocker.objects.filter(story=story).order_by("id")[0].cleared_at == first_cleared
    # Another story's blocker stays open.
    assert blockers(other) == [("No sample file", flow.dev1.pk, None)]
    assert Story.objects.get(pk=other.pk).blocked


@pytest.mark.parametrize("who", ["dev2", "po2", "cpo", "stakeholder"])
def test_only_the_owning_team_clears_a_blocker_saying_so(flow, story, who):
    services.blocker_raise(actor=flow.actor("dev1"), story=story, reason="API down")
    with pytest.raises(PermissionRefused) as refused:
        services.blocker_clear(actor=flow.actor(who), story=story)
    assert str(refused.value) == "only the owning team clears blockers"
    fresh = Story.objects.get(pk=story.pk)
    assert (fresh.blocked, fresh.version) == (True, 2)
    assert blockers(story) == [("API down", flow.dev1.pk, None)]


def test_clearing_a_story_that_is_not_blocked_is_refused_saying_so(flow, story):
    with pytest.raises(RuleViolation) as refused:
        services.blocker_clear(actor=flow.actor("sm1"), story=story)
    assert refused.value.detail == {"blocked": ["the story is not blocked"]}
    assert Story.objects.get(pk=story.pk).version == 1


def test_clearing_a_blocker_at_a_stale_version_is_a_conflict_and_writes_nothing(flow, story):
    services.blocker_raise(actor=flow.actor("dev1"), story=story, reason="API down")
    with pytest.raises(VersionConflict) as conflict:
        services.blocker_clear(actor=flow.actor("sm1"), story=story, expected_version=1)
    assert conflict.value.current_version == 2
    fresh = Story.objects.get(pk=story.pk)
    assert (fresh.blocked, fresh.blocked_reason, fresh.version) == (True, "API down", 2)
    assert blockers(story) == [("API down", flow.dev1.pk, None)]


def test_clearing_a_blocker_moves_this_flow_teams_planning_board_once(flow, foreign, story):
    keys = [planning_live_key(flow.flow_team.pk), planning_live_key(foreign.flow_team.pk)]
    services.blocker_raise(actor=flow.actor("dev1"), story=story, reason="API down")
    before = live_versions(keys)
    services.blocker_clear(actor=flow.actor("dev1"), story=story)
    after = live_versions(keys)
    assert [after[k] - before[k] for k in keys] == [1, 0]


def test_the_owning_team_edits_a_tasks_title_assignee_and_done_and_the_story_moves(flow, story):
    task = services.task_create(actor=flow.actor("dev1"), story=story, title="Write the export")
    key = planning_live_key(flow.flow_team.pk)
    before = live_versions([key])[key]
    services.task_update(
        actor=flow.actor("sm1"),
        task=task,
        data={"title": "Write the CSV export", "assignee": flow.dev1, "done": True},
    )
    fresh = Task.objects.get(pk=task.pk)
    assert (fresh.title, fresh.assignee, fresh.done) == ("Write the CSV export", flow.dev1, True)
    assert Story.objects.get(pk=story.pk).version == 3
    assert live_versions([key])[key] == before + 1


@pytest.mark.parametrize("who", ["dev2", "po2", "cpo", "stakeholder"])
def test_only_the_owning_team_edits_a_task_saying_so(flow, story, who):
    task = services.task_create(actor=flow.actor("dev1"), story=story, title="Write the export")
    with pytest.raises(PermissionRefused) as refused:
        services.task_update(actor=flow.actor(who), task=task, data={"done": True})
    assert str(refused.value) == "only the owning team edits tasks"
    assert Task.objects.get(pk=task.pk).done is False
    assert Story.objects.get(pk=story.pk).version == 2


def test_a_task_edit_refuses_the_first_field_it_may_not_write_by_name(flow, story):
    task = services.task_create(actor=flow.actor("dev1"), story=story, title="Write the export")
    with pytest.raises(RuleViolation) as refused:
        services.task_update(
            actor=flow.actor("dev1"), task=task, data={"title": "x", "story": story, "id": 9}
        )
    assert refused.value.detail == {"id": ["unknown or read-only field"]}
    fresh = Task.objects.get(pk=task.pk)
    assert (fresh.title, Story.objects.get(pk=story.pk).version) == ("Write the export", 2)


def test_a_blank_task_title_is_refused_saying_so(flow, story):
    task = services.task_create(actor=flow.actor("dev1"), story=story, title="Write the export")
    with pytest.raises(RuleViolation) as refused:
        services.task_update(actor=flow.actor("dev1"), task=task, data={"title": "  "})
    assert refused.value.detail == {"title": ["give the task a title"]}
    assert Task.objects.get(pk=task.pk).title == "Write the export"


def test_a_task_is_assigned_to_a_member_of_the_flow_team_only_saying_so(flow, foreign, story):
    task = services.task_create(actor=flow.actor("dev1"), story=story, title="Write the export")
    with pytest.raises(RuleViolation) as refused:
        services.task_update(actor=flow.actor("dev1"), task=task, data={"assignee": foreign.dev1})
    assert refused.value.detail == {"assignee": ["this person is not a member of the Flow Team"]}
    assert Task.objects.get(pk=task.pk).assignee is None


def test_a_task_edit_writes_only_the_fields_it_names(flow, story):
    """Another edit since the caller read the task is kept: only the named fields are written."""
    task = services.task_create(actor=flow.actor("dev1"), story=story, title="Write the export")
    meanwhile = Task.objects.get(pk=task.pk)
    services.task_update(actor=flow.actor("sm1"), task=meanwhile, data={"done": True})
    services.task_update(actor=flow.actor("dev1"), task=task, data={"title": "The CSV export"})
    fresh = Task.objects.get(pk=task.pk)
    assert (fresh.title, fresh.done) == ("The CSV export", True)


@pytest.mark.parametrize("who", ["dev2", "po2", "cpo", "stakeholder"])
def test_only_the_owning_team_raises_a_blocker_saying_so(flow, story, who):
    with pytest.raises(PermissionRefused) as refused:
        services.blocker_raise(actor=flow.actor(who), story=story, reason="API down")
    assert str(refused.value) == "only the owning team raises blockers"
    assert (Story.objects.get(pk=story.pk).blocked, blockers(story)) == (False, [])


def test_a_blocker_says_what_blocks_once_and_never_on_a_done_story(flow, story):
    dev1 = flow.actor("dev1")
    with pytest.raises(RuleViolation) as refused:
        services.blocker_raise(actor=dev1, story=story, reason="  ")
    assert refused.value.detail == {"blocked_reason": ["say what blocks the story"]}
    story = services.blocker_raise(actor=dev1, story=story, reason="  API down ")
    with pytest.raises(RuleViolation) as refused:
        services.blocker_raise(actor=dev1, story=story, reason="Still down")
    assert refused.value.detail == {"blocked": ["the story is already blocked"]}
    assert blockers(story) == [("API down", flow.dev1.pk, None)]
    story = services.blocker_clear(actor=dev1, story=story)
    story = move(flow, story, "in_progress")
    check_all(flow, story)
    story = move(flow, story, "done")
    with pytest.raises(RuleViolation) as refused:
        services.blocker_raise(actor=dev1, story=story, reason="Late")
    assert refused.value.detail == {"blocked": ["a done story cannot be blocked"]}
    assert len(blockers(story)) == 1


@pytest.mark.parametrize("who", ["dev2", "po2", "cpo", "stakeholder"])
def test_only_the_owning_team_adds_tasks_and_checks_criteria_saying_so(flow, story, who):
    with pytest.raises(PermissionRefused) as refused:
        services.task_create(actor=flow.actor(who), story=story, title="Write the export")
    assert str(refused.value) == "only the owning team adds tasks"
    with pytest.raises(PermissionRefused) as refused:
        services.criterion_check(
            actor=flow.actor(who), criterion=story.criteria.first(), checked=True
        )
    assert str(refused.value) == "only the owning team checks criteria"
    assert not Task.objects.filter(story=story).exists()
    assert not story.criteria.filter(checked=True).exists()
    assert Story.objects.get(pk=story.pk).version == 1


def test_a_task_needs_a_title_and_a_member_of_the_flow_team_saying_so(flow, foreign, story):
    dev1 = flow.actor("dev1")
    with pytest.raises(RuleViolation) as refused:
        services.task_create(actor=dev1, story=story, title=" ")
    assert refused.value.detail == {"title": ["give the task a title"]}
    with pytest.raises(RuleViolation) as refused:
        services.task_create(actor=dev1, story=story, title="Export", assignee=foreign.dev1)
    assert refused.value.detail == {"assignee": ["this person is not a member of the Flow Team"]}
    assert not Task.objects.filter(story=story).exists()


@pytest.mark.parametrize("who", ["dev2", "po2", "sm2", "csm", "stakeholder"])
def test_only_the_cpo_and_the_team_write_criteria_saying_so(flow, story, who):
    with pytest.raises(PermissionRefused) as refused:
        services.criterion_add(actor=flow.actor(who), story=story, text="Fast")
    assert str(refused.value) == "only the CPO and the team write criteria"
    assert story.criteria.count() == 2


def test_criteria_added_one_by_one_are_numbered_from_1_and_an_empty_one_is_refused(flow):
    story = services.story_create(
        actor=flow.actor("po1"), scrum_team=flow.scrum_teams[0], title="Import invoices"
    )
    dev1 = flow.actor("dev1")
    with pytest.raises(RuleViolation) as refused:
        services.criterion_add(actor=dev1, story=story, text="  \n ")
    assert refused.value.detail == {"text": ["write the criterion"]}
    assert not story.criteria.exists()
    for text in ("  Reads CSV ", "Skips duplicates"):
        services.criterion_add(actor=dev1, story=story, text=text)
    assert list(story.criteria.order_by("position").values_list("position", "text")) == [
        (1, "Reads CSV"),
        (2, "Skips duplicates"),
    ]


def test_a_done_storys_criterion_is_unchecked_only_after_reopening_saying_so(flow, story):
    story = move(flow, story, "in_progress")
    check_all(flow, story)
    story = move(flow, story, "done")
    criterion = story.criteria.first()
    with pytest.raises(RuleViolation) as refused:
        services.criterion_check(actor=flow.actor("dev1"), criterion=criterion, checked=False)
    assert refused.value.detail == {"checked": ["reopen the story before unchecking a criterion"]}
    assert story.criteria.get(pk=criterion.pk).checked
    # Checking it again changes nothing that matters and is allowed.
    services.criterion_check(actor=flow.actor("dev1"), criterion=criterion, checked=True)


def test_checking_a_criterion_names_who_and_when_and_unchecking_clears_both(flow, story):
    criterion = story.criteria.first()
    before = timezone.now()
    services.criterion_check(actor=flow.actor("dev1"), criterion=criterion, checked=True)
    row = AcceptanceCriterion.objects.get(pk=criterion.pk)
    assert (row.checked, row.checked_by) == (True, flow.dev1)
    assert before <= row.checked_at <= timezone.now()
    services.criterion_check(actor=flow.actor("sm1"), criterion=row, checked=False)
    row.refresh_from_db()
    assert (row.checked, row.checked_by, row.checked_at) == (False, None, None)


def test_checking_a_criterion_writes_the_check_alone(flow, story):
    """A criterion is never rewritten (the admin refuses a new text): whatever else the
    caller's copy of it holds is not written."""
    criterion = story.criteria.first()
    criterion.text = "Rewritten"
    services.criterion_check(actor=flow.actor("dev1"), criterion=criterion, checked=True)
    assert list(story.criteria.values_list("text", "checked")) == [
        ("CSV has every column", True),
        ("Totals match", False),
    ]


def test_a_story_is_created_in_a_scrum_team_of_this_flow_team_by_its_team_or_the_cpo(flow, foreign):
    with pytest.raises(RuleViolation) as refused:
        services.story_create(
            actor=flow.actor("cpo"), scrum_team=foreign.scrum_teams[0], title="Theirs"
        )
    assert refused.value.detail == {"scrum_team": ["the Scrum Team is not in this Flow Team"]}
    for who in ("dev2", "po2", "csm", "stakeholder"):
        with pytest.raises(PermissionRefused) as refused:
            services.story_create(
                actor=flow.actor(who), scrum_team=flow.scrum_teams[0], title="Not mine"
            )
        assert str(refused.value) == "only the CPO and the team create its stories"
    with pytest.raises(RuleViolation) as refused:
        services.story_create(
            actor=flow.actor("po1"), scrum_team=flow.scrum_teams[0], title="S", version=3, rank=1
        )
    assert refused.value.detail == {"rank": ["unknown or read-only field"]}
    with pytest.raises(RuleViolation) as refused:
        services.story_create(actor=flow.actor("po1"), scrum_team=flow.scrum_teams[0], title=" ")
    assert refused.value.detail == {"title": ["give the story a title"]}
    assert not Story.objects.exists()


def test_other_teams_developer_cannot_move_the_story(flow, story):
    for who in ("dev2", "cpo"):  # the CPO reads story status
        with pytest.raises(PermissionRefused) as refusal:
            move(flow, story, "ready", who=who)
        assert str(refusal.value) == "only the owning team moves its stories"
    assert history(story) == [("", "backlog")]


def test_stale_version_is_a_conflict_and_writes_nothing(flow, story):
    services.story_update(actor=flow.actor("po1"), story=story, data={"title": "New"})
    with pytest.raises(VersionConflict) as conflict:
        move(flow, story, "ready", expected_version=1)
    assert conflict.value.current_version == 2
    assert history(story) == [("", "backlog")]


def test_update_refuses_fields_the_role_may_not_write(flow, story):
    with pytest.raises(PermissionRefused) as refusal:
        services.story_update(actor=flow.actor("stakeholder"), story=story, data={"title": "x"})
    assert str(refusal.value) == "only the CPO and the owning team edit this story"
    with pytest.raises(RuleViolation) as refusal:
        services.story_update(actor=flow.actor("cpo"), story=story, data={"assignee": flow.dev1})
    assert refusal.value.detail == {"assignee": ["your role may not change this field"]}
    with pytest.raises(RuleViolation) as refusal:
        services.story_update(
            actor=flow.actor("dev1"), story=story, data={"title": "x", "state": "done", "rank": 1}
        )
    assert refusal.value.detail == {"rank": ["your role may not change this field"]}
    with pytest.raises(RuleViolation) as refusal:
        services.story_update(actor=flow.actor("dev1"), story=story, data={"title": " "})
    assert refusal.value.detail == {"title": ["give the story a title"]}
    updated = services.story_update(
        actor=flow.actor("dev1"), story=story, data={"points": 5, "assignee": flow.dev1}
    )
    assert (updated.points, updated.assignee, updated.version) == (5, flow.dev1, 2)


def foreign_epic(foreign):
    return services.epic_create(actor=foreign.actor("cpo"), title="Theirs")


def test_points_off_the_scale_and_foreign_assignee_refused(flow, foreign, story):
    with pytest.raises(RuleViolation) as refusal:
        services.story_update(actor=flow.actor("po1"), story=story, data={"points": 4})
    assert refusal.value.detail == {
        "points": ["story points are one of 0, 1, 2, 3, 5, 8, 13, 20, 40, 100 or empty"]
    }
    with pytest.raises(RuleViolation) as refusal:
        services.story_update(actor=flow.actor("po1"), story=story, data={"assignee": foreign.dev1})
    assert refusal.value.detail == {"assignee": ["this person is not a member of the Flow Team"]}
    with pytest.raises(RuleViolation) as refusal:
        services.story_update(
            actor=flow.actor("po1"), story=story, data={"epic": foreign_epic(foreign)}
        )
    assert refusal.value.detail == {"epic": ["the epic is not in this Flow Team"]}
    fresh = Story.objects.get(pk=story.pk)
    assert (fresh.points, fresh.assignee, fresh.epic, fresh.version) == (3, None, None, 1)


@pytest.mark.parametrize("who", ["dev2", "po2", "csm", "stakeholder"])
def test_only_the_cpo_and_the_team_delete_a_criterion(flow, story, who):
    criterion = story.criteria.first()
    with pytest.raises(PermissionRefused) as refusal:
        services.criterion_delete(actor=flow.actor(who), criterion=criterion)
    assert str(refusal.value) == "only the CPO and the team edit criteria"
    assert story.criteria.count() == 2
    assert Story.objects.get(pk=story.pk).version == 1


def test_epic_rights_cpo_wsjf_architect_feasibility(flow):
    epic = services.epic_create(actor=flow.actor("cpo"), title="Payments", job_size=8)
    with pytest.raises(PermissionRefused) as refused:
        services.epic_create(actor=flow.actor("po1"), title="Nope")
    assert str(refused.value) == "only the CPO creates epics"
    with pytest.raises(PermissionRefused) as refused:
        services.epic_update(actor=flow.actor("po1"), epic=epic, data={"title": "Nope"})
    assert str(refused.value) == "you may not edit epics"
    with pytest.raises(RuleViolation) as refusal:
        services.epic_update(actor=flow.actor("architect"), epic=epic, data={"job_size": 3})
    assert refusal.value.detail == {"job_size": ["your role may not change this field"]}
    with pytest.raises(RuleViolation) as refusal:
        services.epic_update(actor=flow.actor("architect"), epic=epic, data={"feasibility": "meh"})
    assert refusal.value.detail == {"feasibility": ["unknown feasibility"]}
    with pytest.raises(RuleViolation) as refusal:
        services.epic_update(actor=flow.actor("cpo"), epic=epic, data={"title": "  "})
    assert refusal.value.detail == {"title": ["give the epic a title"]}
    epic = services.epic_update(
        actor=flow.actor("architect"), epic=epic, data={"feasibility": "concerns"}
    )
    assert epic.feasibility == "concerns"
    with pytest.raises(RuleViolation) as refusal:
        services.epic_update(actor=flow.actor("cpo"), epic=epic, data={"business_value": 4})
    assert refusal.value.detail == {
        "business_value": ["business value is one of 1, 2, 3, 5, 8, 13, 20"]
    }


def test_one_active_product_goal_through_the_service(flow):
    services.product_goal_create(actor=flow.actor("cpo"), statement="Be the best")
    with pytest.raises(RuleViolation) as refusal:
        services.product_goal_create(actor=flow.actor("cpo"), statement="Another")
    assert refusal.value.detail == {
        "status": [
            "the Flow Team already has an active Product Goal; mark it achieved or abandoned first"
        ]
    }
    with pytest.raises(RuleViolation) as refusal:
        services.product_goal_create(actor=flow.actor("cpo"), statement="  ")
    assert refusal.value.detail == {"statement": ["state the Product Goal"]}


def test_story_change_edits_and_moves_as_one_change(flow):
    story = services.story_create(
        actor=flow.actor("po1"), scrum_team=flow.scrum_teams[0], title="Unsized", criteria=["ok"]
    )
    changed = services.story_change(
        actor=flow.actor("dev1"),
        story=story,
        data={"points": 5},
        to_state="ready",
        expected_version=1,
    )
    # The move is checked against the edited story, and the pair is one version, one row.
    assert (changed.points, changed.state, changed.version) == (5, "ready", 2)
    assert history(story) == [("", "backlog"), ("backlog", "ready")]


def test_story_change_refusal_writes_neither_the_edit_nor_the_move(flow, story):
    with pytest.raises(RuleViolation) as refusal:
        services.story_change(
            actor=flow.actor("dev1"), story=story, data={"title": "Renamed"}, to_state="done"
        )
    assert refusal.value.detail == {
        "criteria": ["done needs every acceptance criterion checked (2 unchecked)"]
    }
    # The CPO may edit the title but not move it: the whole change is refused.
    with pytest.raises(PermissionRefused):
        services.story_change(
            actor=flow.actor("cpo"), story=story, data={"title": "Renamed"}, to_state="ready"
        )
    fresh = Story.objects.get(pk=story.pk)
    assert (fresh.title, fresh.state, fresh.version) == ("Export invoices", "backlog", 1)
    assert history(story) == [("", "backlog")]


def test_story_change_with_nothing_to_change_only_checks_the_version(flow, story):
    same = services.story_change(actor=flow.actor("dev1"), story=story, expected_version=1)
    assert same.version == 1
    with pytest.raises(VersionConflict):
        services.story_change(actor=flow.actor("dev1"), story=story, expected_version=7)


def test_epic_change_writes_conditions_and_moves_to_ready_at_once(flow):
    epic = services.epic_create(actor=flow.actor("cpo"), title="Payments")
    with pytest.raises(RuleViolation) as refusal:
        services.epic_change(actor=flow.actor("cpo"), epic=epic, to_state="ready")
    assert refusal.value.detail == {
        "acceptance_conditions": ["a ready epic has acceptance conditions"]
    }
    epic = services.epic_change(
        actor=flow.actor("cpo"),
        epic=epic,
        data={"acceptance_conditions": "Pays out"},
        to_state="ready",
        expected_version=1,
    )
    assert (epic.state, epic.version) == ("ready", 2)
    assert list(StateChange.objects.filter(epic=epic).values_list("from_state", "to_state")) == [
        ("", "funnel"),
        ("funnel", "ready"),
    ]
    # The Architect may write feasibility but not move the epic: nothing is written.
    with pytest.raises(PermissionRefused):
        services.epic_change(
            actor=flow.actor("architect"),
            epic=epic,
            data={"feasibility": "concerns"},
            to_state="in_progress",
        )
    assert Epic.objects.get(pk=epic.pk).feasibility != "concerns"


def _three_stories(flow):
    return [
        services.story_create(actor=flow.actor("po1"), scrum_team=flow.scrum_teams[0], title=t)
        for t in ("A", "B", "C")
    ]


@pytest.mark.parametrize("side", ["after", "before"])
def test_a_story_cannot_move_next_to_itself(flow, side):
    a, _, _ = _three_stories(flow)
    with pytest.raises(RuleViolation) as refusal:
        services.story_rank_move(actor=flow.actor("po1"), story=a, **{side: a})
    assert refusal.value.detail == {side: ["an item cannot move next to itself"]}
    assert Story.objects.get(pk=a.pk).version == 1


def test_a_story_is_ranked_by_the_cpo_or_its_team_next_to_one_neighbour_of_its_team(flow):
    a, b, c = _three_stories(flow)
    other = services.story_create(
        actor=flow.actor("po2"), scrum_team=flow.scrum_teams[1], title="Theirs"
    )
    for who in ("dev2", "po2", "csm", "stakeholder"):
        with pytest.raises(PermissionRefused) as refused:
            services.story_rank_move(actor=flow.actor(who), story=c, after=a)
        assert str(refused.value) == "only the CPO and the team rank stories"
    with pytest.raises(RuleViolation) as refused:
        services.story_rank_move(actor=flow.actor("po1"), story=c, after=a, before=b)
    assert refused.value.detail == {"before": ["name one neighbour: after or before"]}
    with pytest.raises(RuleViolation) as refused:
        services.story_rank_move(actor=flow.actor("po1"), story=c, before=other)
    assert refused.value.detail == {"before": ["rank among the stories of the same Scrum Team"]}
    order = list(Story.objects.filter(scrum_team=a.scrum_team).order_by("rank"))
    assert (order, Story.objects.get(pk=c.pk).version) == ([a, b, c], 1)
    key = planning_live_key(flow.flow_team.pk)
    before = live_versions([key])[key]
    services.story_rank_move(actor=flow.actor("cpo"), story=c, after=a)
    assert list(Story.objects.filter(scrum_team=a.scrum_team).order_by("rank")) == [a, c, b]
    assert live_versions([key])[key] == before + 1  # the team's backlog on every screen


def test_a_story_past_the_backlog_keeps_its_estimate_saying_so(flow, story):
    story = move(flow, story, "ready")
    with pytest.raises(RuleViolation) as refused:
        services.story_update(actor=flow.actor("po1"), story=story, data={"points": None})
    assert refused.value.detail == {
        "points": ["a story past the backlog keeps its estimate (Definition of Ready)"]
    }
    assert Story.objects.get(pk=story.pk).points == 3
    # Back in the backlog, the estimate may go.
    story = move(flow, story, "backlog")
    services.story_update(actor=flow.actor("po1"), story=story, data={"points": None})
    assert Story.objects.get(pk=story.pk).points is None


@pytest.mark.parametrize("side", ["after", "before"])
def test_an_epic_cannot_move_next_to_itself(flow, side):
    epic = services.epic_create(actor=flow.actor("cpo"), title="Payments")
    services.epic_create(actor=flow.actor("cpo"), title="Payouts")
    with pytest.raises(RuleViolation) as refusal:
        services.epic_rank_move(actor=flow.actor("cpo"), epic=epic, **{side: epic})
    assert refusal.value.detail == {side: ["an item cannot move next to itself"]}
    assert Epic.objects.get(pk=epic.pk).version == 1


def test_rank_moves_check_the_version_they_were_given(flow):
    a, b, c = _three_stories(flow)
    services.story_rank_move(actor=flow.actor("po1"), story=c, expected_version=1)
    with pytest.raises(VersionConflict) as conflict:
        services.story_rank_move(actor=flow.actor("po1"), story=c, after=a, expected_version=1)
    assert conflict.value.current_version == 2
    order = list(Story.objects.filter(scrum_team=a.scrum_team).order_by("rank"))
    assert order == [c, a, b]

    epic = services.epic_create(actor=flow.actor("cpo"), title="Payments")
    other = services.epic_create(actor=flow.actor("cpo"), title="Payouts")
    services.epic_rank_move(actor=flow.actor("cpo"), epic=other, expected_version=1)
    with pytest.raises(VersionConflict):
        services.epic_rank_move(actor=flow.actor("cpo"), epic=other, after=epic, expected_version=1)
    assert list(Epic.objects.filter(flow_team=flow.flow_team).order_by("rank")) == [other, epic]


def test_a_dependency_cannot_be_needed_by_another_flow_teams_sprint(flow, foreign, story):
    from tests.flow.factories import FlowSprintFactory

    other = services.story_create(
        actor=flow.actor("po2"), scrum_team=flow.scrum_teams[1], title="API"
    )
    dependency = services.dependency_create(actor=flow.actor("po1"), source=story, target=other)
    theirs = FlowSprintFactory(flow_team=foreign.flow_team)
    with pytest.raises(RuleViolation) as refusal:
        services.dependency_update(
            actor=flow.actor("po1"), dependency=dependency, data={"needed_by": theirs}
        )
    assert refusal.value.detail == {"needed_by": ["the Flow Sprint is not in this Flow Team"]}
    # A PO of another team may not edit the source team's dependency.
    with pytest.raises(PermissionRefused):
        services.dependency_update(
            actor=flow.actor("po2"), dependency=dependency, data={"state": "resolved"}
        )
