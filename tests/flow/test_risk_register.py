"""The risk register (ROAM) as a live component of an event's screen
(/events/<pk>/risks/): who writes which entries, refusals that keep the typed text and
name the field, stale saves showing both versions with who and when, the prefill from a
red dependency, the live poll, and query counts that do not grow with teams."""

import datetime
import re

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from events.models import Event
from events.risk_views import risk_form_values
from flow import services
from flow.models import Risk
from sem.errors import NotFound
from sem.live import live_versions
from tests.conftest import build_flow_team
from tests.events.planning2_setup import build_planning_2, high_risk

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 1, 5, 10, 0, tzinfo=datetime.UTC)
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def reg(flow):
    with time_machine.travel(NOW, tick=False):
        found = build_planning_2(flow)
        found.ns = flow
        found.risk = high_risk(flow)  # team 1's
        found.other = high_risk(flow, scrum_team=flow.scrum_teams[1], title="Team 2's risk")
        found.url = f"/events/{found.event.pk}/risks/"
        yield found


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(risk: Risk, **changes) -> dict:
    """The edit form as the page fills it for ``risk``, with ``changes`` typed over it."""
    return {**risk_form_values(risk), "read_version": str(risk.version), **changes}


def test_risk_services_bump_the_registers_live_key_and_name_who_saved(flow):
    key = services.risk_live_key(flow.flow_team.pk)
    risk = services.risk_create(actor=flow.actor("sm1"), title="A", scrum_team=flow.scrum_teams[0])
    assert live_versions([key])[key] == 1 and risk.updated_by == flow.sm1
    services.risk_update(actor=flow.actor("csm"), risk=risk, data={"roam": "owned"})
    risk.refresh_from_db()
    assert live_versions([key])[key] == 2 and risk.updated_by == flow.csm


def test_another_flow_teams_risk_is_not_found_by_the_service_and_stays_as_it_was(flow, foreign):
    theirs = services.risk_create(actor=foreign.actor("csm"), title="Theirs")
    for role in ("cpo", "csm", "architect"):
        with pytest.raises(NotFound, match="^no such risk in your Flow Team$"):
            services.risk_update(actor=flow.actor(role), risk=theirs, data={"roam": "owned"})
    assert Risk.objects.get(pk=theirs.pk).roam == theirs.roam
    assert Risk.objects.get(pk=theirs.pk).version == theirs.version


def test_the_register_lists_every_risk_gravest_first_with_edit_only_where_allowed(reg):
    cpo = reg.ns.actor("cpo")
    services.risk_create(actor=cpo, title="Minor glitch", impact="low")
    services.risk_create(actor=cpo, title="Settled matter", impact="critical", roam="resolved")
    services.risk_create(actor=cpo, title="Data loss", impact="critical")
    html = client_of(reg.ns.sm1).get(reg.url, **HX).content.decode()
    order = [
        html.index(title)
        for title in ("Data loss", "Load may exceed capacity", "Minor glitch", "Settled matter")
    ]
    assert order == sorted(order)
    assert "Load may exceed capacity" in html and "Team 2&#x27;s risk" in html
    assert f'/risks/{reg.risk.pk}/"' in html  # their own team's: Edit
    assert f'/risks/{reg.other.pk}/"' not in html  # team 2's: read only
    assert html.count("Unmitigated high risk") == 2 and "Unmitigated critical risk" in html
    cpo = client_of(reg.ns.cpo).get(reg.url, **HX).content.decode()
    assert f'/risks/{reg.risk.pk}/"' in cpo and f'/risks/{reg.other.pk}/"' in cpo


@pytest.mark.parametrize("role", ["dev1", "stakeholder"])
def test_developers_and_stakeholders_read_only(reg, role):
    client = client_of(reg.ns.users[role])
    html = client.get(reg.url, **HX).content.decode()
    assert "Load may exceed capacity" in html and "read only" in html
    assert "/risks/new/" not in html and f"/risks/{reg.risk.pk}/" not in html
    assert client.get(f"{reg.url}{reg.risk.pk}/", **HX).status_code == 403
    assert client.post(f"{reg.url}{reg.risk.pk}/", form(reg.risk, title="x")).status_code == 403
    assert client.post(f"{reg.url}new/", {"title": "Mine", "impact": "low"}).status_code == 403
    assert Risk.objects.count() == 2 and Risk.objects.get(pk=reg.risk.pk).title != "x"


def test_an_sm_edits_only_their_own_teams_entries(reg):
    sm1 = client_of(reg.ns.sm1)
    saved = sm1.post(
        f"{reg.url}{reg.risk.pk}/", form(reg.risk, roam="owned", mitigation="Scale out"), **HX
    )
    assert saved.status_code == 200 and "Saved" in saved.content.decode()
    assert 'id="risk-list" hx-swap-oob="innerHTML"' in saved.content.decode()
    risk = Risk.objects.get(pk=reg.risk.pk)
    assert (risk.roam, risk.mitigation, risk.version) == ("owned", "Scale out", 2)
    refused = sm1.post(f"{reg.url}{reg.other.pk}/", form(reg.other, title="Taken over"))
    assert refused.status_code == 403
    assert Risk.objects.get(pk=reg.other.pk).title == "Team 2's risk"
    # Nor may they move their entry into team 2's register.
    moved = sm1.post(
        f"{reg.url}{reg.risk.pk}/",
        form(risk, scrum_team=str(reg.ns.scrum_teams[1].pk)),
        **HX,
    )
    assert moved.status_code == 400 and "register you keep" in moved.content.decode()
    assert Risk.objects.get(pk=reg.risk.pk).scrum_team == reg.ns.scrum_teams[0]


def test_a_po_records_a_risk_in_their_own_register(reg):
    po2 = client_of(reg.ns.po2)
    answer = po2.post(
        f"{reg.url}new/",
        {
            "title": "Vendor outage",
            "impact": "critical",
            "roam": "open",
            "scrum_team": str(reg.ns.scrum_teams[1].pk),
        },
        **HX,
    )
    assert answer.status_code == 200
    risk = Risk.objects.get(title="Vendor outage")
    assert (risk.scrum_team, risk.updated_by, risk.flow_team) == (
        reg.ns.scrum_teams[1],
        reg.ns.po2,
        reg.ns.flow_team,
    )
    forged = po2.post(
        f"{reg.url}new/", {"title": "Team 1's", "scrum_team": str(reg.ns.scrum_teams[0].pk)}
    )
    assert forged.status_code == 403 and not Risk.objects.filter(title="Team 1's").exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "   "}, "title", "give the risk a title"),
        ({"impact": "enormous"}, "impact", "impact is low, medium, high or critical"),
        (
            {"roam": "mitigated", "mitigation": ""},
            "mitigation",
            "a mitigated risk has a mitigation plan",
        ),
        ({"owner": "abc"}, "owner", "choose an owner from the Flow Team&#x27;s members"),
        ({"owner": "999999"}, "owner", "choose an owner from the Flow Team&#x27;s members"),
        ({"dependency": "999999"}, "dependency", "choose one of the Flow Team&#x27;s dependencies"),
        ({"title": "x" * 201}, "title", "at most 200 characters"),
    ],
)
def test_a_refused_edit_names_the_field_and_keeps_the_typed_text(reg, changes, field, message):
    typed = {"mitigation": "My careful plan", **changes}
    answer = client_of(reg.ns.csm).post(f"{reg.url}{reg.risk.pk}/", form(reg.risk, **typed), **HX)
    html = answer.content.decode()
    assert answer.status_code == 400
    assert message in html
    assert re.search(
        rf'class="field has-error">\s*<label for="risk-{field.replace("scrum_team", "team")}', html
    )
    if "mitigation" not in changes:
        assert ">My careful plan</textarea>" in html
    assert Risk.objects.get(pk=reg.risk.pk).version == 1


def test_another_flow_teams_register_and_risks_are_not_found(reg, foreign):
    outsider = client_of(foreign.csm)
    assert outsider.get(reg.url).status_code == 404
    assert outsider.post(f"{reg.url}new/", {"title": "x"}).status_code == 404
    # Their own event, our risk's id: still not found.
    with time_machine.travel(NOW, tick=False):
        theirs = build_planning_2(foreign).event
    assert outsider.get(f"/events/{theirs.pk}/risks/{reg.risk.pk}/").status_code == 404
    ours = client_of(reg.ns.csm)
    foreign_dependency = type(reg.red).objects.filter(flow_team=foreign.flow_team).first()
    refused = ours.post(
        f"{reg.url}{reg.risk.pk}/", form(reg.risk, dependency=str(foreign_dependency.pk)), **HX
    )
    assert (
        refused.status_code == 400
        and "choose one of the Flow Team&#x27;s dependencies" in refused.content.decode()
    )


def test_a_stale_save_shows_both_versions_who_and_when_and_keeps_the_text(reg):
    read = Risk.objects.get(pk=reg.risk.pk)
    with time_machine.travel(NOW + datetime.timedelta(minutes=7), tick=False):
        services.risk_update(
            actor=reg.ns.actor("po1"), risk=read, data={"mitigation": "PO's plan", "roam": "owned"}
        )
    answer = client_of(reg.ns.sm1).post(
        f"{reg.url}{reg.risk.pk}/", form(read, mitigation="SM's plan"), **HX
    )
    html = answer.content.decode()
    assert answer.status_code == 409
    assert f"{reg.ns.po1.display_name} saved this risk at 11:07 while you were editing" in html
    assert "PO&#x27;s plan" in html and "Owned" in html  # theirs
    assert ">SM&#x27;s plan</textarea>" in html  # yours, kept
    assert 'name="read_version" value="2"' in html  # saving again replaces theirs, knowingly
    assert Risk.objects.get(pk=reg.risk.pk).mitigation == "PO's plan"
    again = client_of(reg.ns.sm1).post(
        f"{reg.url}{reg.risk.pk}/", form(read, mitigation="SM's plan", read_version="2"), **HX
    )
    assert again.status_code == 200 and Risk.objects.get(pk=reg.risk.pk).mitigation == "SM's plan"


def test_a_red_dependency_opens_a_new_risk_linked_to_it(reg):
    html = (
        client_of(reg.ns.sm1)
        .get(f"{reg.url}?risk_for_dependency={reg.red.pk}", **HX)
        .content.decode()
    )
    assert "New risk" in html and 'value="Checkout flow may come late"' in html
    assert re.search(
        rf'<option value="{reg.red.pk}" selected>#{reg.red.pk} Checkout flow needs Payment API',
        html,
    )
    assert f'<option value="{reg.ns.scrum_teams[0].pk}" selected>' in html
    # A stakeholder reading the register gets no form; a made-up id no prefill.
    reader = client_of(reg.ns.stakeholder).get(f"{reg.url}?risk_for_dependency={reg.red.pk}", **HX)
    assert 'id="risk-title"' not in reader.content.decode()
    odd = client_of(reg.ns.sm1).get(f"{reg.url}?risk_for_dependency=99999x", **HX)
    assert odd.status_code == 200 and "selected>#" not in odd.content.decode()


def test_the_event_screen_passes_the_prefill_on(reg):
    planning_1 = Event.objects.filter(flow_team=reg.ns.flow_team, kind="planning_1").first()
    client = client_of(reg.ns.sm1)
    board = client.get(
        f"/events/{reg.event.pk}/planning-2/?risk_for_dependency={reg.red.pk}", **HX
    ).content.decode()
    # Planning 2's own poll watches the register: the embedded one does not poll.
    assert f'hx-get="{reg.url}?embedded=1&amp;risk_for_dependency={reg.red.pk}"' in board
    embedded = client.get(f"{reg.url}?embedded=1", **HX).content.decode()
    assert "Load may exceed capacity" in embedded and 'id="risk-poll"' not in embedded
    assert 'id="risk-poll"' in client.get(f"{reg.url}?embedded=0", **HX).content.decode()
    # Any event screen may include the register: it follows that event's routes.
    page = client.get(f"/events/{planning_1.pk}/risks/")
    assert page.status_code == 200 and "Load may exceed capacity" in page.content.decode()


def test_the_poll_sends_the_list_when_a_risk_changes(reg):
    po3 = client_of(reg.ns.po3)
    html = po3.get(reg.url, **HX).content.decode()
    url = re.search(r'id="risk-poll"[^>]*hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert po3.get(url).status_code == 204
    services.risk_update(actor=reg.ns.actor("cpo"), risk=reg.risk, data={"title": "Renamed risk"})
    changed = po3.get(url).content.decode()
    assert "Renamed risk" in changed and 'id="risk-list" hx-swap-oob="innerHTML"' in changed


@pytest.mark.parametrize("teams", [3, 15])
def test_register_and_poll_queries_do_not_grow_with_teams(teams):
    with time_machine.travel(NOW, tick=False):
        ns = build_flow_team(prefix=f"R{teams}", teams=teams)
        p2 = build_planning_2(ns)
        for team in ns.scrum_teams:
            high_risk(ns, scrum_team=team, dependency=p2.red)
        sm = client_of(ns.sm1)
        url = f"/events/{p2.event.pk}/risks/?risk_for_dependency={p2.red.pk}"
        with CaptureQueriesContext(connection) as page:
            answer = sm.get(url, **HX)
        assert answer.status_code == 200 and len(page) == 12
        poll = re.search(r'id="risk-poll"[^>]*hx-get="([^"]+)"', answer.content.decode())
        poll = poll.group(1).replace("&amp;", "&")
        with CaptureQueriesContext(connection) as idle:
            assert sm.get(poll).status_code == 204
        assert len(idle) == 1
        services.risk_update(actor=ns.actor("sm1"), risk=Risk.objects.first(), data={"title": "N"})
        with CaptureQueriesContext(connection) as changed:
            assert sm.get(poll).status_code == 200
        assert len(changed) == 7


@pytest.mark.parametrize(
    ("data", "field", "says"),
    [
        ({"read_version": "x"}, "read_version", "the form&#x27;s version is missing"),
        ({"read_version": "9" * 30}, "read_version", "the form&#x27;s version is missing"),
        ({"scrum_team": "x"}, "team", "choose a register you keep from the list"),
        ({"scrum_team": "9" * 30}, "team", "choose a register you keep from the list"),
        ({"roam": "ignored"}, "roam", "ROAM state is open, resolved, owned, accepted or mitigated"),
        ({"mitigation": "m" * 5001}, "mitigation", "at most 5000 characters"),
    ],
)
def test_hostile_register_posts_are_refused_naming_the_field(reg, data, field, says):
    answer = client_of(reg.ns.csm).post(f"{reg.url}{reg.risk.pk}/", form(reg.risk, **data), **HX)
    html = answer.content.decode()
    assert answer.status_code == 400 and says in html
    if field != "read_version":
        assert re.search(rf'class="field has-error">\s*<label for="risk-{field}', html)
    assert Risk.objects.get(pk=reg.risk.pk).version == 1
    created = client_of(reg.ns.csm).post(f"{reg.url}new/", {**data, "title": "New"}, **HX)
    assert created.status_code in (200, 400)
    if created.status_code == 200:  # the refusal was only about the edit's version
        assert field == "read_version"
