"""The dependency contract's services: who answers on which side, the steps they leave,
version checks, and Flow Sprints of another Flow Team refused naming the field."""

import datetime

import pytest

from backlog import services
from backlog.models import Dependency, DependencyStep
from backlog.services import planning_live_key, roadmap_live_key
from flow.models import FlowSprint
from sem.errors import PermissionRefused, RuleViolation, VersionConflict
from sem.live import live_versions
from tests.backlog.factories import StoryFactory
from tests.flow.factories import FlowSprintFactory

pytestmark = pytest.mark.django_db


def sprints_of(ns):
    return {
        n: FlowSprintFactory(
            flow_team=ns.flow_team,
            number=n,
            start=datetime.date(2026, 1, 5) + datetime.timedelta(weeks=2 * (n - 1)),
        )
        for n in range(1, 5)
    }


@pytest.fixture
def sprints(flow):
    return sprints_of(flow)


@pytest.fixture
def dependency(flow, sprints):
    return services.dependency_create(
        actor=flow.actor("po1"),
        source=StoryFactory(scrum_team=flow.scrum_teams[0]),
        target=StoryFactory(scrum_team=flow.scrum_teams[1]),
        needed_by=sprints[3],
    )


def steps(dependency):
    found = DependencyStep.objects.filter(dependency=dependency).order_by("at", "id")
    return list(found.values_list("kind", "flow_sprint__number", "by", "note"))


def test_raising_records_the_first_step(flow, dependency):
    assert dependency.contract == Dependency.Contract.REQUESTED
    assert steps(dependency) == [("raised", 3, flow.po1.pk, "")]


def test_each_step_bumps_the_version_once_and_records_who(flow, sprints, dependency):
    po1, po2 = flow.actor("po1"), flow.actor("po2")
    d = services.dependency_counter(
        actor=po2, dependency=dependency, flow_sprint=sprints[4], note="n", expected_version=1
    )
    assert (d.version, d.contract, d.proposed_sprint_id) == (2, "countered", sprints[4].pk)
    d = services.dependency_accept(actor=po1, dependency=d, expected_version=2)
    d.refresh_from_db()
    assert (d.version, d.contract, d.needed_by_id, d.committed_sprint_id) == (
        3,
        "accepted",
        sprints[4].pk,
        sprints[4].pk,
    )
    assert d.proposed_sprint_id is None
    assert steps(d) == [
        ("raised", 3, flow.po1.pk, ""),
        ("countered", 4, flow.po2.pk, "n"),
        ("accepted", 4, flow.po1.pk, ""),
    ]


def test_a_stale_version_is_a_conflict_and_writes_nothing(flow, sprints, dependency):
    with pytest.raises(VersionConflict):
        services.dependency_commit(
            actor=flow.actor("po2"),
            dependency=dependency,
            flow_sprint=sprints[2],
            expected_version=5,
        )
    dependency.refresh_from_db()
    assert (dependency.version, dependency.contract, len(steps(dependency))) == (
        1,
        "requested",
        1,
    )


def test_another_flow_teams_sprint_is_refused_naming_the_field(flow, foreign, dependency):
    theirs = sprints_of(foreign)[2]
    cases = [
        (services.dependency_commit, "flow_sprint", "po2"),
        (services.dependency_counter, "flow_sprint", "po2"),
        (services.dependency_renegotiate, "needed_by", "po1"),
    ]
    for service, field, role in cases:
        with pytest.raises(RuleViolation) as refused:
            service(actor=flow.actor(role), dependency=dependency, **{field: theirs})
        assert refused.value.detail == {field: ["the Flow Sprint is not in this Flow Team"]}
    assert steps(dependency) == [("raised", 3, flow.po1.pk, "")]


def test_a_withdrawn_commitment_and_a_renegotiation_reopen_the_contract(flow, sprints, dependency):
    po1, po2 = flow.actor("po1"), flow.actor("po2")
    d = services.dependency_commit(actor=po2, dependency=dependency, flow_sprint=sprints[2])
    assert (d.contract, d.committed_sprint_id) == ("committed", sprints[2].pk)
    d = services.dependency_counter(actor=po2, dependency=d, flow_sprint=sprints[4])
    assert (d.contract, d.committed_sprint_id) == ("countered", None)
    # Insisting on the needed-by sprint turns the counter-proposal down.
    d = services.dependency_renegotiate(actor=po1, dependency=d, needed_by=sprints[3])
    d.refresh_from_db()
    assert (d.contract, d.needed_by_id, d.proposed_sprint_id) == ("requested", sprints[3].pk, None)


def test_a_new_needed_by_through_an_edit_is_a_renegotiation(flow, sprints, dependency):
    """The admin edits needed_by through dependency_update: the contract re-opens there
    too, and the step is recorded."""
    po1, po2 = flow.actor("po1"), flow.actor("po2")
    services.dependency_commit(actor=po2, dependency=dependency, flow_sprint=sprints[3])
    d = services.dependency_update(actor=po1, dependency=dependency, data={"needed_by": sprints[2]})
    d.refresh_from_db()
    assert (d.contract, d.committed_sprint_id, d.needed_by_id) == ("requested", None, sprints[2].pk)
    assert steps(d) == [
        ("raised", 3, flow.po1.pk, ""),
        ("committed", 3, flow.po2.pk, ""),
        ("renegotiated", 2, flow.po1.pk, ""),
    ]
    # The same needed-by sprint again is no renegotiation.
    services.dependency_update(actor=po1, dependency=d, data={"needed_by": sprints[2]})
    assert len(steps(d)) == 3


def test_clearing_needed_by_through_an_edit_reopens_the_contract(flow, sprints, dependency):
    """No needed-by sprint any more is a new request too: the commitment is set aside."""
    po1, po2 = flow.actor("po1"), flow.actor("po2")
    services.dependency_commit(actor=po2, dependency=dependency, flow_sprint=sprints[3])
    d = services.dependency_update(actor=po1, dependency=dependency, data={"needed_by": None})
    d.refresh_from_db()
    assert (d.contract, d.committed_sprint_id, d.needed_by_id) == ("requested", None, None)
    assert steps(d)[-1] == ("renegotiated", None, flow.po1.pk, "")
    # Still none: no renegotiation.
    services.dependency_update(actor=po1, dependency=d, data={"needed_by": None})
    assert len(steps(d)) == 3


def test_the_requesting_side_only_accepts_and_renegotiates(flow, sprints, dependency):
    po2 = flow.actor("po2")
    services.dependency_counter(actor=po2, dependency=dependency, flow_sprint=sprints[4])
    for role in ("po2", "sm2", "dev1", "stakeholder"):
        with pytest.raises(PermissionRefused):
            services.dependency_accept(actor=flow.actor(role), dependency=dependency)
    services.dependency_accept(actor=flow.actor("sm1"), dependency=dependency)


def test_the_providing_side_only_commits_and_counters_and_each_refusal_says_who_may(
    flow, sprints, dependency
):
    for service in (services.dependency_commit, services.dependency_counter):
        for role in ("po1", "sm1", "dev2", "stakeholder"):
            with pytest.raises(PermissionRefused) as refused:
                service(actor=flow.actor(role), dependency=dependency, flow_sprint=sprints[4])
            assert str(refused.value) == (
                "only the providing team's PO and SM (or the CPO, CSM, Architect) commit or "
                "counter-propose"
            )
    with pytest.raises(PermissionRefused) as refused:
        services.dependency_renegotiate(
            actor=flow.actor("po2"), dependency=dependency, needed_by=sprints[4]
        )
    assert str(refused.value) == (
        "only the requesting team's PO and SM (or the CPO, CSM, Architect) accept or re-negotiate"
    )
    assert steps(dependency) == [("raised", 3, flow.po1.pk, "")]


@pytest.mark.parametrize(
    "answer",
    [
        lambda a, d, s: services.dependency_commit(
            actor=a("po2"), dependency=d, flow_sprint=s[2], expected_version=7
        ),
        lambda a, d, s: services.dependency_counter(
            actor=a("po2"), dependency=d, flow_sprint=s[4], expected_version=7
        ),
        lambda a, d, s: services.dependency_accept(
            actor=a("po1"), dependency=d, expected_version=7
        ),
        lambda a, d, s: services.dependency_renegotiate(
            actor=a("po1"), dependency=d, needed_by=s[4], expected_version=7
        ),
    ],
    ids=["commit", "counter", "accept", "renegotiate"],
)
def test_every_answer_at_a_stale_version_is_a_conflict_and_writes_nothing(
    flow, sprints, dependency, answer
):
    with pytest.raises(VersionConflict) as conflict:
        answer(flow.actor, dependency, sprints)
    assert conflict.value.current_version == 1
    dependency.refresh_from_db()
    assert (dependency.version, dependency.contract) == (1, "requested")
    assert len(steps(dependency)) == 1


def test_renegotiating_the_sprint_already_asked_for_is_refused_saying_so(flow, sprints, dependency):
    with pytest.raises(RuleViolation) as refused:
        services.dependency_renegotiate(
            actor=flow.actor("po1"), dependency=dependency, needed_by=sprints[3]
        )
    assert refused.value.detail == {
        "needed_by": ["the dependency is needed by Flow Sprint 3 already"]
    }
    assert steps(dependency) == [("raised", 3, flow.po1.pk, "")]
    # A renegotiation without a note records none; with one, the note.
    services.dependency_renegotiate(
        actor=flow.actor("po1"), dependency=dependency, needed_by=sprints[4]
    )
    services.dependency_renegotiate(
        actor=flow.actor("sm1"), dependency=dependency, needed_by=sprints[2], note="sooner"
    )
    assert steps(dependency)[1:] == [
        ("renegotiated", 4, flow.po1.pk, ""),
        ("renegotiated", 2, flow.sm1.pk, "sooner"),
    ]


# --- Editing a dependency (dependency_update) ------------------------------------------


def test_only_the_source_teams_po_and_sm_and_the_flow_roles_edit_a_dependency_saying_so(
    flow, dependency
):
    for role in ("po2", "sm2", "dev1", "stakeholder"):
        with pytest.raises(PermissionRefused) as refused:
            services.dependency_update(
                actor=flow.actor(role), dependency=dependency, data={"state": "resolved"}
            )
        assert str(refused.value) == (
            "only the CPO, CSM, Architect, or the source team's PO and SM edit this dependency"
        )
    dependency.refresh_from_db()
    assert (dependency.state, dependency.version) == ("open", 1)


def test_an_edit_refuses_the_first_field_it_may_not_write_by_name(flow, dependency):
    with pytest.raises(RuleViolation) as refused:
        services.dependency_update(
            actor=flow.actor("po1"),
            dependency=dependency,
            data={"version": 9, "description": "x", "contract": "accepted"},
        )
    assert refused.value.detail == {"contract": ["unknown or read-only field"]}
    with pytest.raises(RuleViolation) as refused:
        services.dependency_update(
            actor=flow.actor("po1"), dependency=dependency, data={"to_story": None}
        )
    assert refused.value.detail == {"to_story": ["unknown or read-only field"]}
    dependency.refresh_from_db()
    assert (dependency.description, dependency.contract, dependency.version) == (
        "",
        "requested",
        1,
    )


def test_an_edit_writes_the_description_and_state_and_bumps_the_version_once(flow, dependency):
    d = services.dependency_update(
        actor=flow.actor("sm1"),
        dependency=dependency,
        data={"description": "Needs the export API", "state": "resolved"},
        expected_version=1,
    )
    d.refresh_from_db()
    assert (d.description, d.state, d.contract, d.version) == (
        "Needs the export API",
        "resolved",
        "requested",
        2,
    )


def test_a_state_other_than_open_resolved_or_broken_is_refused_saying_so(flow, dependency):
    with pytest.raises(RuleViolation) as refused:
        services.dependency_update(
            actor=flow.actor("po1"), dependency=dependency, data={"state": "closed"}
        )
    assert refused.value.detail == {"state": ["a dependency is open, resolved or broken"]}
    dependency.refresh_from_db()
    assert (dependency.state, dependency.version) == ("open", 1)


def test_an_edit_at_a_stale_version_is_a_conflict_and_writes_nothing(flow, dependency):
    with pytest.raises(VersionConflict) as conflict:
        services.dependency_update(
            actor=flow.actor("po1"),
            dependency=dependency,
            data={"description": "late"},
            expected_version=7,
        )
    assert conflict.value.current_version == 1
    dependency.refresh_from_db()
    assert (dependency.description, dependency.version) == ("", 1)


def test_an_edit_moves_this_flow_teams_roadmap_and_planning_board_once_each(
    flow, foreign, dependency
):
    keys = [
        roadmap_live_key(flow.flow_team.pk),
        planning_live_key(flow.flow_team.pk),
        roadmap_live_key(foreign.flow_team.pk),
        planning_live_key(foreign.flow_team.pk),
    ]
    before = live_versions(keys)
    services.dependency_update(
        actor=flow.actor("po1"), dependency=dependency, data={"description": "x"}
    )
    after = live_versions(keys)
    assert [after[k] - before[k] for k in keys] == [1, 1, 0, 0]


# --- Refusals of the contract, word for word -------------------------------------------


def test_a_dependency_no_longer_open_is_not_negotiated_saying_so(flow, sprints, dependency):
    services.dependency_update(
        actor=flow.actor("po1"), dependency=dependency, data={"state": "broken"}
    )
    with pytest.raises(RuleViolation) as refused:
        services.dependency_commit(
            actor=flow.actor("po2"), dependency=dependency, flow_sprint=sprints[2]
        )
    assert refused.value.detail == {
        "state": ["the dependency is broken; only an open one is negotiated"]
    }
    assert steps(dependency) == [("raised", 3, flow.po1.pk, "")]


def test_an_answer_names_an_open_flow_sprint_saying_so(flow, sprints, dependency):
    po2 = flow.actor("po2")
    with pytest.raises(RuleViolation) as refused:
        services.dependency_commit(actor=po2, dependency=dependency, flow_sprint=None)
    assert refused.value.detail == {"flow_sprint": ["name a Flow Sprint"]}
    FlowSprint.objects.filter(pk=sprints[2].pk).update(state=FlowSprint.State.CLOSED)
    with pytest.raises(RuleViolation) as refused:
        services.dependency_counter(
            actor=po2, dependency=dependency, flow_sprint=FlowSprint.objects.get(pk=sprints[2].pk)
        )
    assert refused.value.detail == {"flow_sprint": ["Flow Sprint 2 is closed"]}
    assert steps(dependency) == [("raised", 3, flow.po1.pk, "")]


def test_the_provider_commits_by_the_needed_by_sprint_and_counters_another_saying_so(
    flow, sprints, dependency
):
    po2 = flow.actor("po2")
    with pytest.raises(RuleViolation) as refused:
        services.dependency_counter(actor=po2, dependency=dependency, flow_sprint=sprints[3])
    assert refused.value.detail == {
        "flow_sprint": ["that is the needed-by Flow Sprint: commit to it instead"]
    }
    with pytest.raises(RuleViolation) as refused:
        services.dependency_commit(actor=po2, dependency=dependency, flow_sprint=sprints[4])
    assert refused.value.detail == {
        "flow_sprint": [
            "Flow Sprint 4 is after the needed-by Flow Sprint 3: counter-propose it instead"
        ]
    }
    assert steps(dependency) == [("raised", 3, flow.po1.pk, "")]


def test_only_a_standing_counter_proposal_in_an_open_sprint_is_accepted_saying_so(
    flow, sprints, dependency
):
    po1 = flow.actor("po1")
    with pytest.raises(RuleViolation) as refused:
        services.dependency_accept(actor=po1, dependency=dependency)
    assert refused.value.detail == {"contract": ["there is no counter-proposal to accept"]}
    services.dependency_counter(
        actor=flow.actor("po2"), dependency=dependency, flow_sprint=sprints[4]
    )
    FlowSprint.objects.filter(pk=sprints[4].pk).update(state=FlowSprint.State.CLOSED)
    with pytest.raises(RuleViolation) as refused:
        services.dependency_accept(actor=po1, dependency=dependency)
    assert refused.value.detail == {"proposed_sprint": ["Flow Sprint 4 is closed"]}
    dependency.refresh_from_db()
    assert (dependency.contract, dependency.needed_by_id) == ("countered", sprints[3].pk)


def test_a_counter_proposal_whose_flow_sprint_is_gone_is_none_to_accept(flow, sprints, dependency):
    """The proposed sprint's foreign key is SET_NULL: deleted, it leaves the contract
    countered with nothing proposed, which is refused as no counter-proposal (not as a
    missing Flow Sprint the requester never had to name)."""
    services.dependency_counter(
        actor=flow.actor("po2"), dependency=dependency, flow_sprint=sprints[4]
    )
    FlowSprint.objects.filter(pk=sprints[4].pk).delete()
    dependency.refresh_from_db()
    assert (dependency.contract, dependency.proposed_sprint_id) == ("countered", None)
    with pytest.raises(RuleViolation) as refused:
        services.dependency_accept(actor=flow.actor("po1"), dependency=dependency)
    assert refused.value.detail == {"contract": ["there is no counter-proposal to accept"]}
    assert Dependency.objects.get(pk=dependency.pk).version == dependency.version
    assert [kind for kind, *_ in steps(dependency)] == ["raised", "countered"]


def test_raising_a_dependency_names_two_items_of_this_flow_team_saying_so(flow, foreign, sprints):
    po1 = flow.actor("po1")
    ours = StoryFactory(scrum_team=flow.scrum_teams[0])
    other = StoryFactory(scrum_team=flow.scrum_teams[1])
    theirs = StoryFactory(scrum_team=foreign.scrum_teams[0])
    cases = [
        (theirs, other, {"from": ["name a story or epic of this Flow Team"]}),
        (None, other, {"from": ["name a story or epic of this Flow Team"]}),
        (ours, theirs, {"to": ["name a story or epic of this Flow Team"]}),
        (ours, None, {"to": ["name a story or epic of this Flow Team"]}),
        (ours, ours, {"to": ["an item cannot depend on itself"]}),
    ]
    for source, target, detail in cases:
        with pytest.raises(RuleViolation) as refused:
            services.dependency_create(actor=po1, source=source, target=target)
        assert refused.value.detail == detail
    with pytest.raises(RuleViolation) as refused:
        services.dependency_create(
            actor=po1, source=ours, target=other, needed_by=sprints_of(foreign)[1]
        )
    assert refused.value.detail == {"needed_by": ["the Flow Sprint is not in this Flow Team"]}
    for role in ("po2", "sm2", "dev1", "stakeholder"):
        with pytest.raises(PermissionRefused) as refused:
            services.dependency_create(actor=flow.actor(role), source=ours, target=other)
        assert str(refused.value) == (
            "only the CPO, CSM, Architect, or the source team's PO and SM record dependencies"
        )
    assert not Dependency.objects.exists()
