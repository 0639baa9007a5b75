import pytest

from events import services
from events.models import ScrumOfScrumsReport
from sem.errors import PermissionRefused, RuleViolation, VersionConflict
from tests.events.factories import EventFactory, ScrumOfScrumsReportFactory
from tests.flow.factories import FlowSprintFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(flow):
    event = EventFactory(flow_sprint=FlowSprintFactory(flow_team=flow.flow_team))
    return ScrumOfScrumsReportFactory(event=event, scrum_team=flow.scrum_teams[0])


@pytest.mark.parametrize("who", ["csm", "po1", "sm1"])
def test_the_csm_and_the_teams_po_and_sm_answer_for_the_team(flow, report, who):
    written = services.sos_report_update(
        actor=flow.actor(who), report=report, data={"impediments": " Legal "}, expected_version=1
    )
    fresh = ScrumOfScrumsReport.objects.get(pk=written.pk)
    assert (fresh.impediments, fresh.submitted_by, fresh.version) == (
        "Legal",
        flow.users[who],
        2,
    )


@pytest.mark.parametrize("who", ["cpo", "architect", "dev1", "po2", "stakeholder"])
def test_nobody_else_answers_for_the_team(flow, report, who):
    with pytest.raises(PermissionRefused):
        services.sos_report_update(actor=flow.actor(who), report=report, data={"impediments": "x"})
    assert ScrumOfScrumsReport.objects.get(pk=report.pk).version == 1


def test_unknown_fields_and_stale_versions_are_refused(flow, report):
    with pytest.raises(RuleViolation) as refusal:
        services.sos_report_update(
            actor=flow.actor("po1"), report=report, data={"scrum_team": flow.scrum_teams[1]}
        )
    assert refusal.value.detail == {"scrum_team": ["unknown or read-only field"]}
    services.sos_report_update(actor=flow.actor("po1"), report=report, data={"impediments": "a"})
    with pytest.raises(VersionConflict):
        services.sos_report_update(
            actor=flow.actor("sm1"), report=report, data={"impediments": "b"}, expected_version=1
        )
    assert ScrumOfScrumsReport.objects.get(pk=report.pk).impediments == "a"
