"""The one vocabulary of who may do what (domain.md, "Who may do what").

Pure predicates over an ``Actor``: a person as seen inside one Flow Team. The
API, the HTML views and the admin all ask these, so a rule lives here once.
Anything outside the actor's Flow Team never reaches a predicate: selectors
scope every queryset to it first, and foreign objects are 404.
"""

from dataclasses import dataclass, field

from teams.models import Role


@dataclass(frozen=True)
class Actor:
    user: object
    flow_team: object
    flow_roles: frozenset = frozenset()
    # scrum_team_id -> the roles held in that Scrum Team
    team_roles: dict = field(default_factory=dict)

    @property
    def flow_team_id(self) -> int:
        return self.flow_team.pk

    @property
    def is_cpo(self) -> bool:
        return Role.CPO in self.flow_roles

    @property
    def is_csm(self) -> bool:
        return Role.CSM in self.flow_roles

    @property
    def is_architect(self) -> bool:
        return Role.ARCHITECT in self.flow_roles

    @property
    def is_stakeholder_only(self) -> bool:
        return self.flow_roles == {Role.STAKEHOLDER} and not self.team_roles

    @property
    def scrum_team_ids(self) -> set[int]:
        return set(self.team_roles)

    def holds(self, role: str, scrum_team_id: int | None = None) -> bool:
        if scrum_team_id is None:
            return role in self.flow_roles or any(role in r for r in self.team_roles.values())
        return role in self.team_roles.get(scrum_team_id, ())

    @property
    def all_roles(self) -> set[str]:
        roles = set(self.flow_roles)
        for team_roles in self.team_roles.values():
            roles |= team_roles
        return roles


# The roles that work a team's stories (status, tasks, blockers): ``can_work_story``.
TEAM_WORK_ROLES = (Role.PO, Role.SM, Role.DEVELOPER)


def _in_team(actor: Actor, scrum_team_id: int, roles=TEAM_WORK_ROLES) -> bool:
    held = actor.team_roles.get(scrum_team_id, ())
    return any(r in held for r in roles)


def can_manage_roadmap(actor: Actor) -> bool:
    """Product Goal, milestones, epics, epic rank and WSJF: the CPO."""
    return actor.is_cpo


def can_assess_feasibility(actor: Actor) -> bool:
    """Epic feasibility and technical acceptance criteria: the Architect."""
    return actor.is_architect


def can_facilitate(actor: Actor) -> bool:
    """Flow Sprint cadence, event schedule, opening and closing SoS and retros: the CSM."""
    return actor.is_csm


def can_write_register(actor: Actor, scrum_team_id: int | None = None) -> bool:
    """Dependency and risk register: CPO, CSM, Architect; a PO or SM for their own team."""
    if actor.is_cpo or actor.is_csm or actor.is_architect:
        return True
    if scrum_team_id is None:
        return False
    return _in_team(actor, scrum_team_id, roles=(Role.PO, Role.SM))


def can_draft_flow_sprint_goal(actor: Actor) -> bool:
    """The Flow Sprint Goal's draft: the CPO."""
    return actor.is_cpo


def can_confirm_flow_sprint_goal(actor: Actor) -> bool:
    """Confirming the Flow Sprint Goal, which closes Flow Sprint Planning 2: the CSM."""
    return actor.is_csm


def can_claim_epic(actor: Actor, scrum_team_id: int) -> bool:
    """Flow Sprint Planning 1, a team claiming an epic for a Flow Sprint: that team's PO or
    SM, the CPO and the CSM."""
    return actor.is_cpo or actor.is_csm or _in_team(actor, scrum_team_id, roles=(Role.PO, Role.SM))


def can_plan_team_sprint(actor: Actor, scrum_team_id: int) -> bool:
    """Team sprint goal, capacity and members' available days (Team Sprint Planning): that
    team's PO or SM. Everyone else of the Flow Team reads them, stakeholders excepted
    (``can_see_events``)."""
    return _in_team(actor, scrum_team_id, roles=(Role.PO, Role.SM))


def can_edit_story(actor: Actor, scrum_team_id: int) -> bool:
    """Create, rank, estimate, write criteria: CPO, or PO/SM/developer of the owning team."""
    return actor.is_cpo or _in_team(actor, scrum_team_id)


def can_work_story(actor: Actor, scrum_team_id: int) -> bool:
    """Story status, tasks, blockers, claiming: the owning team's PO, SM and developers."""
    return _in_team(actor, scrum_team_id)


def can_write_sos_report(actor: Actor, scrum_team_id: int) -> bool:
    """A team's Scrum of Scrums answers: the CSM, or that team's PO or SM."""
    return actor.is_csm or _in_team(actor, scrum_team_id, roles=(Role.PO, Role.SM))


def can_manage_sos_actions(actor: Actor) -> bool:
    """Scrum of Scrums action items (add, close): the CSM, and any PO or SM."""
    return actor.is_csm or actor.holds(Role.PO) or actor.holds(Role.SM)


def can_prioritise_improvements(actor: Actor, scrum_team_id: int | None) -> bool:
    """The order of improvement items: the Flow Backlog's (no team) is the CSM's, who
    facilitates the Flow Sprint Retrospective, and the CPO's, whose Flow Backlog it is; a
    team's is its PO's and SM's."""
    if scrum_team_id is None:
        return actor.is_csm or actor.is_cpo
    return _in_team(actor, scrum_team_id, roles=(Role.PO, Role.SM))


def can_close_improvement(actor: Actor, *, owner_id: int | None, scrum_team_id: int | None) -> bool:
    """Marking an improvement item done: its owner, or whoever orders its backlog."""
    return owner_id == actor.user.pk or can_prioritise_improvements(actor, scrum_team_id)


# The events a stakeholder takes part in (domain.md, "Events"): Flow Sprint Planning 2,
# Product Roadmap Refinement and the Flow Sprint Review, spelled as events.Event.Kind
# spells them (this lower app names them by string; a test holds the two together).
STAKEHOLDER_EVENT_KINDS = frozenset({"planning_2", "roadmap_refinement", "review"})


def can_see_events(actor: Actor) -> bool:
    """The whole event schedule and the Scrum of Scrums: anyone holding a role besides
    stakeholder. A stakeholder-only member (or one with no role yet) sees only
    ``STAKEHOLDER_EVENT_KINDS``; selectors filter with ``event_kinds_visible``."""
    return bool(actor.all_roles - {Role.STAKEHOLDER})


def event_kinds_visible(actor: Actor) -> frozenset | None:
    """The event kinds the actor sees, or None for every kind."""
    return None if can_see_events(actor) else STAKEHOLDER_EVENT_KINDS


def can_manage_webhooks(actor: Actor) -> bool:
    """Registering where the Flow Team's changes are sent: the CPO and the CSM."""
    return actor.is_cpo or actor.is_csm


def can_refresh_metrics(actor: Actor) -> bool:
    """Asking the metrics job to run now: anyone of the Flow Team who does the work or leads
    it. Stakeholders read the metrics; the hourly job keeps them current."""
    return not actor.is_stakeholder_only and bool(actor.all_roles)


def can_run_event(actor: Actor, *, facilitator_id: int | None, scrum_team_id: int | None) -> bool:
    """Starting and ending an event and recording its outputs: the CSM (who facilitates the
    Flow Team's events), the person named as the event's facilitator (the CPO at roadmap
    refinement), and for a team event that team's SM."""
    if actor.is_csm:
        return True
    if facilitator_id is not None and facilitator_id == actor.user.pk:
        return True
    return scrum_team_id is not None and _in_team(actor, scrum_team_id, roles=(Role.SM,))


def can_join_retro(actor: Actor, *, flow_level: bool, scrum_team_id: int | None) -> bool:
    """Retro cards and votes (domain.md): a team retro is its Scrum Team's (PO, SM,
    developers); the Flow Sprint Retrospective is the CSM's, CPO's, Architect's and every
    PO's and SM's. Stakeholders never."""
    if flow_level:
        return (
            actor.is_csm or actor.is_cpo or actor.is_architect or actor.holds(Role.PO)
        ) or actor.holds(Role.SM)
    return scrum_team_id is not None and _in_team(actor, scrum_team_id)
