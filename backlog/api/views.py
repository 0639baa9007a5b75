"""Backlog resources. Views parse, call one service, render; rules live in backlog.services."""

from django.db.models import Prefetch
from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from backlog import selectors, services
from backlog.api import lean
from backlog.api import serializers as s
from backlog.models import (
    AcceptanceCriterion,
    Dependency,
    Epic,
    Milestone,
    ProductGoal,
    RoadmapChange,
    Story,
    Task,
)
from backlog.selectors import story_with_criteria
from sem.api import (
    BIGGEST_NUMBER,
    CONFLICT_ERRORS,
    READ_ERRORS,
    VERSIONED_WRITE_ERRORS,
    WHOLE_NUMBER,
    WRITE_ERRORS,
    BoundedIsoDateTimeFilter,
    Conflict,
    IdFilterSet,
    VersionedObjectMixin,
    expected_version,
    single_version,
    whole_number_or_404,
)
from sem.errors import VersionConflict
from teams.api.scope import ActorMixin
from teams.permissions import (
    can_assess_feasibility,
    can_edit_story,
    can_manage_roadmap,
    can_work_story,
    can_write_register,
)


def _neighbour(queryset, pk, field):
    if pk is None:
        return None
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise ValidationError({field: [f"no item {pk} in this list"]})
    return found


class StoryFilter(IdFilterSet):
    team = filters.NumberFilter(field_name="scrum_team")
    state = filters.MultipleChoiceFilter(choices=Story.State.choices)
    kind = filters.MultipleChoiceFilter(choices=Story.Kind.choices)
    flow_sprint = filters.NumberFilter(
        field_name="commitments__team_sprint__flow_sprint",
        distinct=True,
        label="Flow Sprint the story is committed to",
    )
    updated_since = BoundedIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Story
        fields = [
            "team",
            "epic",
            "state",
            "assignee",
            "kind",
            "blocked",
            "flow_sprint",
            "updated_since",
        ]


STORY_BUMP = (
    "Changes the story's version: the story's `ETag` changes, so read the story again (a "
    "conditional GET is cheap) before sending `If-Match` to it. Needs no `If-Match` itself."
)

PATCH_DOC = (
    "Edit a story and/or move it through its workflow by sending `state`. Requires "
    "`If-Match` with the `ETag` you read. Refused transitions say which rule failed "
    "(ready needs an estimate and a criterion; done needs every criterion checked)."
)


@extend_schema_view(
    list=extend_schema(
        summary="Stories of your Flow Team", responses={200: s.StorySerializer, **READ_ERRORS}
    ),
    retrieve=extend_schema(
        summary="A story (with its ETag)",
        responses={
            200: s.StorySerializer,
            304: OpenApiResponse(description="Not modified (If-None-Match)"),
            **READ_ERRORS,
        },
    ),
    create=extend_schema(
        summary="Create a story at the bottom of its team's backlog",
        responses={201: s.StorySerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Edit a story or change its state",
        description=PATCH_DOC,
        request=s.StoryUpdateSerializer,
        responses={200: s.StorySerializer, **VERSIONED_WRITE_ERRORS},
    ),
)
class StoryViewSet(
    ActorMixin,
    VersionedObjectMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    model = Story
    serializer_class = s.StorySerializer
    filterset_class = StoryFilter
    ordering_fields = ["rank", "updated_at", "created_at", "points", "id"]
    ordering = ["scrum_team", "rank"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def scoped_queryset(self):
        return Story.objects.filter(flow_team=self.actor.flow_team).prefetch_related(
            Prefetch("criteria", queryset=AcceptanceCriterion.objects.order_by("position"))
        )

    def list(self, request, *args, **kwargs):
        """The page written out from two queries' columns (the stories, their criteria)
        rather than through model instances, a prefetch and a serializer per row: the same
        JSON (a test compares them) in about a third less time at 200 rows."""
        stories = self.filter_queryset(self.get_queryset()).prefetch_related(None)
        stories = stories.values_list(*s.STORY_JSON_COLUMNS)
        page = self.paginate_queryset(stories)
        rows = list(stories) if page is None else page
        criteria = selectors.criteria_rows_of_stories(
            story_ids=[row[0] for row in rows], columns=s.CRITERION_JSON_COLUMNS
        )
        body = s.stories_json(rows, criteria)
        return Response(body) if page is None else self.get_paginated_response(body)

    def write_refusal(self, story):
        team, actor = story.scrum_team_id, self.actor
        if self.action == "rank":
            allowed = can_edit_story(actor, team)
        elif self.action in ("block", "unblock"):
            allowed = can_work_story(actor, team)
        else:
            allowed = can_edit_story(actor, team) or can_work_story(actor, team)
        return None if allowed else "only the CPO and the owning team change this story"

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        criteria = data.pop("acceptance_criteria", [])
        serializer.instance = services.story_create(actor=self.actor, criteria=criteria, **data)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        story = self.scoped_queryset().get(pk=serializer.instance.pk)
        return self.versioned(story, status_code=201)

    @classmethod
    def as_view(cls, actions=None, **initkwargs):
        view = super().as_view(actions, **initkwargs)
        if actions and "patch" in actions:
            # The PATCH of a state alone by token: one statement, before DRF (lean.py).
            methods = [
                m.upper() for m in cls.http_method_names if m in actions or m in ("head", "options")
            ]
            return lean.lean_story_patch(view, ", ".join(methods))
        return view

    def partial_update(self, request, *args, **kwargs):
        moved = self._move_at_once(request, kwargs["pk"])
        if moved is not None:
            return self.versioned(moved)
        # The story and its criteria in one query (the rules and the answer need both).
        read = story_with_criteria(actor=self.actor, story_id=whole_number_or_404(kwargs["pk"]))
        if read is None:
            raise Http404
        # As get_object() would: a caller who may not write at all hears 403 before 428/412.
        self.check_object_permissions(request, read)
        version = expected_version(request, read.version)
        update = s.StoryUpdateSerializer(data=request.data, context=self.get_serializer_context())
        update.is_valid(raise_exception=True)
        data = dict(update.validated_data)
        state = data.pop("state", None)
        story = services.story_change(
            actor=self.actor, story=read, data=data, to_state=state, expected_version=version
        )
        # Edits and moves leave the criteria as read (a criterion change bumps the version,
        # which If-Match has just checked): answer without reading them again.
        story._prefetched_objects_cache = read._prefetched_objects_cache
        return self.versioned(story)

    def _move_at_once(self, request, pk: str):
        """A PATCH of ``state`` alone with one strong ``If-Match`` tag: the move as one
        statement (``services.story_move_at_version``), or None for the full path, which
        also answers every refusal (404, 403 before 428 and 412, the rule refused)."""
        if getattr(request, lean.TRIED, False):
            return None  # the same statement, by token, matched nothing just now
        body = request.data
        if not isinstance(body, dict) or list(body) != ["state"]:
            return None
        if not isinstance(body["state"], str) or "If-None-Match" in request.headers:
            return None
        version = single_version(request)
        if version is None or not WHOLE_NUMBER.fullmatch(pk) or int(pk) > BIGGEST_NUMBER:
            return None
        return services.story_move_at_version(
            actor=self.actor, story_id=int(pk), to_state=body["state"], expected_version=version
        )

    @extend_schema(
        summary="Move a story in its team's ranked backlog",
        description="One row is written. Requires `If-Match`.",
        request=s.RankSerializer,
        responses={200: s.StorySerializer, **VERSIONED_WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def rank(self, request, pk=None):
        story = self.get_object()
        version = expected_version(request, story.version)
        body = s.RankSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        team_stories = Story.objects.filter(scrum_team=story.scrum_team)
        story = services.story_rank_move(
            actor=self.actor,
            story=story,
            expected_version=version,
            after=_neighbour(team_stories, body.validated_data.get("after"), "after"),
            before=_neighbour(team_stories, body.validated_data.get("before"), "before"),
        )
        return self.versioned(self.scoped_queryset().get(pk=story.pk))

    @extend_schema(
        summary="Raise a blocker on a story",
        request=s.BlockSerializer,
        responses={200: s.StorySerializer, **VERSIONED_WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def block(self, request, pk=None):
        story = self.get_object()
        version = expected_version(request, story.version)
        body = s.BlockSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        story = services.blocker_raise(
            actor=self.actor,
            story=story,
            reason=body.validated_data["reason"],
            expected_version=version,
        )
        return self.versioned(self.scoped_queryset().get(pk=story.pk))

    @extend_schema(
        summary="Clear a story's blocker",
        request=None,
        responses={200: s.StorySerializer, **VERSIONED_WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def unblock(self, request, pk=None):
        story = self.get_object()
        story = services.blocker_clear(
            actor=self.actor, story=story, expected_version=expected_version(request, story.version)
        )
        return self.versioned(self.scoped_queryset().get(pk=story.pk))


@extend_schema_view(
    list=extend_schema(
        summary="Acceptance criteria", responses={200: s.CriterionSerializer, **READ_ERRORS}
    ),
    retrieve=extend_schema(
        summary="An acceptance criterion", responses={200: s.CriterionSerializer, **READ_ERRORS}
    ),
    create=extend_schema(
        summary="Add a criterion at the end of a story's list",
        description=STORY_BUMP,
        responses={201: s.CriterionSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Check or uncheck a criterion",
        description=STORY_BUMP,
        request=s.CriterionCheckSerializer,
        responses={200: s.CriterionSerializer, **WRITE_ERRORS},
    ),
)
class CriterionViewSet(
    ActorMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    model = AcceptanceCriterion
    serializer_class = s.CriterionSerializer
    filterset_fields = ["story", "checked"]
    ordering = ["story", "position"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def scoped_queryset(self):
        return AcceptanceCriterion.objects.filter(story__flow_team=self.actor.flow_team)

    def perform_create(self, serializer):
        serializer.instance = services.criterion_add(
            actor=self.actor,
            story=serializer.validated_data["story"],
            text=serializer.validated_data["text"],
        )

    def partial_update(self, request, *args, **kwargs):
        criterion = self.get_object()
        body = s.CriterionCheckSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        criterion = services.criterion_check(
            actor=self.actor, criterion=criterion, checked=body.validated_data["checked"]
        )
        return Response(self.get_serializer(criterion).data)


@extend_schema_view(
    list=extend_schema(summary="Tasks", responses={200: s.TaskSerializer, **READ_ERRORS}),
    retrieve=extend_schema(summary="A task", responses={200: s.TaskSerializer, **READ_ERRORS}),
    create=extend_schema(
        summary="Add a task to a story",
        description=STORY_BUMP,
        responses={201: s.TaskSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Edit or finish a task",
        description=STORY_BUMP,
        request=s.TaskUpdateSerializer,
        responses={200: s.TaskSerializer, **WRITE_ERRORS},
    ),
)
class TaskViewSet(
    ActorMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    model = Task
    serializer_class = s.TaskSerializer
    filterset_fields = ["story", "assignee", "done"]
    ordering = ["story", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def scoped_queryset(self):
        return Task.objects.filter(story__flow_team=self.actor.flow_team)

    def perform_create(self, serializer):
        serializer.instance = services.task_create(actor=self.actor, **serializer.validated_data)

    def partial_update(self, request, *args, **kwargs):
        task = self.get_object()
        body = s.TaskUpdateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        task = services.task_update(actor=self.actor, task=task, data=dict(body.validated_data))
        return Response(self.get_serializer(task).data)


@extend_schema_view(
    list=extend_schema(
        summary="Epics in rank order", responses={200: s.EpicSerializer, **READ_ERRORS}
    ),
    retrieve=extend_schema(
        summary="An epic (with its ETag)", responses={200: s.EpicSerializer, **READ_ERRORS}
    ),
    create=extend_schema(
        summary="Create an epic (CPO)", responses={201: s.EpicSerializer, **WRITE_ERRORS}
    ),
    partial_update=extend_schema(
        summary="Edit an epic: WSJF and roadmap (CPO), feasibility (Architect), state (CPO)",
        request=s.EpicUpdateSerializer,
        responses={200: s.EpicSerializer, **VERSIONED_WRITE_ERRORS},
    ),
)
class EpicViewSet(
    ActorMixin,
    VersionedObjectMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    model = Epic
    serializer_class = s.EpicSerializer
    filterset_fields = ["state", "milestone", "feasibility"]
    ordering_fields = ["rank", "updated_at", "id"]
    ordering = ["rank"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def scoped_queryset(self):
        return Epic.objects.filter(flow_team=self.actor.flow_team)

    def write_refusal(self, epic):
        allowed = can_manage_roadmap(self.actor) or (
            self.action == "partial_update" and can_assess_feasibility(self.actor)
        )
        return None if allowed else "only the CPO (and the Architect, for feasibility) edit epics"

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        epic = services.epic_create(actor=self.actor, **serializer.validated_data)
        return self.versioned(epic, status_code=201)

    def partial_update(self, request, *args, **kwargs):
        epic = self.get_object()
        version = expected_version(request, epic.version)
        body = s.EpicUpdateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        state = data.pop("state", None)
        epic = services.epic_change(
            actor=self.actor, epic=epic, data=data, to_state=state, expected_version=version
        )
        return self.versioned(epic)

    @extend_schema(
        summary="Move an epic in the ranked roadmap, optionally into another milestone (CPO)",
        request=s.EpicRankSerializer,
        responses={200: s.EpicSerializer, **VERSIONED_WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def rank(self, request, pk=None):
        epic = self.get_object()
        version = expected_version(request, epic.version)
        body = s.EpicRankSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        epics = self.scoped_queryset()
        epic = services.epic_rank_move(
            actor=self.actor,
            epic=epic,
            expected_version=version,
            after=_neighbour(epics, body.validated_data.get("after"), "after"),
            before=_neighbour(epics, body.validated_data.get("before"), "before"),
            milestone=body.validated_data.get("milestone", services.UNCHANGED),
        )
        return self.versioned(epic)

    @extend_schema(
        methods=["GET"],
        summary="The order 'rank by WSJF' proposes, beside the current one",
        responses={200: s.WsjfProposalSerializer, **READ_ERRORS},
    )
    @extend_schema(
        methods=["POST"],
        summary="Apply the WSJF order you were shown (CPO)",
        description=(
            "Send back the `proposal` of the GET (each item's `id` and `version`, in its "
            "order). Every rank is written in one statement; 409 when any epic changed "
            "since, 400 when epics were added or removed: ask for a new proposal."
        ),
        request=s.WsjfProposalSerializer,
        responses={200: s.WsjfAppliedSerializer, **WRITE_ERRORS, **CONFLICT_ERRORS},
    )
    @action(detail=False, methods=["get", "post"], url_path="rank-by-wsjf")
    def rank_by_wsjf(self, request):
        if request.method == "GET":
            proposal = selectors.wsjf_proposal(actor=self.actor)
            return Response(s.WsjfProposalSerializer({"proposal": proposal}).data)
        body = s.WsjfProposalSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        pairs = [(item["id"], item["version"]) for item in body.validated_data["proposal"]]
        try:
            epics = services.epic_wsjf_rank_apply(actor=self.actor, proposal=pairs)
        except VersionConflict as stale:
            raise Conflict(str(stale)) from stale
        return Response(s.WsjfAppliedSerializer({"epics": epics}).data)


@extend_schema_view(
    list=extend_schema(
        summary="The dependency register", responses={200: s.DependencySerializer, **READ_ERRORS}
    ),
    retrieve=extend_schema(
        summary="A dependency (with its ETag)",
        responses={200: s.DependencySerializer, **READ_ERRORS},
    ),
    create=extend_schema(
        summary="Record a dependency between two items",
        responses={201: s.DependencySerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Resolve, break or describe a dependency",
        request=s.DependencyUpdateSerializer,
        responses={200: s.DependencySerializer, **VERSIONED_WRITE_ERRORS},
    ),
)
class DependencyViewSet(
    ActorMixin,
    VersionedObjectMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    model = Dependency
    serializer_class = s.DependencySerializer
    filterset_fields = ["state", "from_story", "to_story", "from_epic", "to_epic"]
    ordering = ["-created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def scoped_queryset(self):
        return Dependency.objects.filter(flow_team=self.actor.flow_team).prefetch_related("steps")

    def write_refusal(self, dependency):
        # The providing side answers a request (commit, counter); the requesting side
        # edits it, accepts and re-negotiates (backlog.services holds the same rule).
        providing = self.action in ("commit", "counter")
        item = dependency.target if providing else dependency.source
        team = item.scrum_team_id if isinstance(item, Story) else None
        if can_write_register(self.actor, team):
            return None
        side = "target" if providing else "source"
        return f"only the CPO, CSM, Architect, or the {side} team's PO and SM may do this"

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        dependency = services.dependency_create(
            actor=self.actor,
            source=data.get("from_story") or data.get("from_epic"),
            target=data.get("to_story") or data.get("to_epic"),
            needed_by=data.get("needed_by"),
            description=data.get("description", ""),
        )
        return self._answer(dependency, status_code=201)

    def _answer(self, dependency, status_code=200):
        # Read back with its steps, as GET shows it.
        return self.versioned(self.scoped_queryset().get(pk=dependency.pk), status_code=status_code)

    def _contract_step(self, request, service, body_serializer, sprint=None):
        """Check If-Match, then the body, then call the contract's service."""
        dependency = self.get_object()
        version = expected_version(request, dependency.version)
        body = body_serializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = body.validated_data
        dependency = service(
            actor=self.actor,
            dependency=dependency,
            note=data.get("note", ""),
            expected_version=version,
            **({sprint: data[sprint]} if sprint else {}),
        )
        return self._answer(dependency)

    @extend_schema(
        summary="Commit to a Flow Sprint (the providing team)",
        description=(
            "The PO or SM of the team owning the target story (for an epic: the CPO, CSM or "
            "Architect) promises the item in `flow_sprint`, no later than the needed-by "
            "sprint; a later one is a counter-proposal. Requires `If-Match`."
        ),
        request=s.DependencyPromiseSerializer,
        responses={200: s.DependencySerializer, **VERSIONED_WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def commit(self, request, pk=None):
        promise = s.DependencyPromiseSerializer
        return self._contract_step(request, services.dependency_commit, promise, "flow_sprint")

    @extend_schema(
        summary="Counter-propose another Flow Sprint (the providing team)",
        description=(
            "The providing side proposes `flow_sprint` instead of the needed-by sprint; a "
            "standing commitment is withdrawn until the requester accepts. Requires `If-Match`."
        ),
        request=s.DependencyPromiseSerializer,
        responses={200: s.DependencySerializer, **VERSIONED_WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def counter(self, request, pk=None):
        promise = s.DependencyPromiseSerializer
        return self._contract_step(request, services.dependency_counter, promise, "flow_sprint")

    @extend_schema(
        summary="Accept the counter-proposal (the requesting team)",
        description=(
            "The source team's PO or SM (or the CPO, CSM, Architect) takes the proposed sprint: "
            "it becomes the needed-by sprint and the provider's commitment. Requires `If-Match`."
        ),
        request=s.DependencyAcceptSerializer,
        responses={200: s.DependencySerializer, **VERSIONED_WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        body = s.DependencyAcceptSerializer
        return self._contract_step(request, services.dependency_accept, body)

    @extend_schema(
        summary="Re-negotiate: ask for another needed-by Flow Sprint (the requesting team)",
        description=(
            "Sets `needed_by` and re-opens the contract: the providing team commits or "
            "counter-proposes again. Requires `If-Match`."
        ),
        request=s.DependencyRenegotiateSerializer,
        responses={200: s.DependencySerializer, **VERSIONED_WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def renegotiate(self, request, pk=None):
        return self._contract_step(
            request,
            services.dependency_renegotiate,
            s.DependencyRenegotiateSerializer,
            "needed_by",
        )

    def partial_update(self, request, *args, **kwargs):
        dependency = self.get_object()
        body = s.DependencyUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dependency = services.dependency_update(
            actor=self.actor,
            dependency=dependency,
            data=dict(body.validated_data),
            expected_version=expected_version(request, dependency.version),
        )
        return self._answer(dependency)


@extend_schema_view(
    list=extend_schema(
        summary="Product Goals", responses={200: s.ProductGoalSerializer, **READ_ERRORS}
    ),
    retrieve=extend_schema(
        summary="A Product Goal", responses={200: s.ProductGoalSerializer, **READ_ERRORS}
    ),
    create=extend_schema(
        summary="Set the Product Goal (CPO; one active goal per Flow Team)",
        responses={201: s.ProductGoalSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Edit the Product Goal, or mark it achieved or abandoned (CPO)",
        request=s.ProductGoalUpdateSerializer,
        responses={200: s.ProductGoalSerializer, **WRITE_ERRORS},
    ),
)
class ProductGoalViewSet(
    ActorMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    # Not versioned (no If-Match): the goal is one short statement that only the CPO edits.
    model = ProductGoal
    serializer_class = s.ProductGoalSerializer
    filterset_fields = ["status"]
    ordering = ["-created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def scoped_queryset(self):
        return ProductGoal.objects.filter(flow_team=self.actor.flow_team)

    def perform_create(self, serializer):
        serializer.instance = services.product_goal_create(
            actor=self.actor, **serializer.validated_data
        )

    def partial_update(self, request, *args, **kwargs):
        goal = self.get_object()
        body = s.ProductGoalUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        goal = services.product_goal_update(
            actor=self.actor, goal=goal, data=dict(body.validated_data)
        )
        return Response(self.get_serializer(goal).data)


@extend_schema_view(
    list=extend_schema(
        summary="Roadmap milestones in timeline order, with progress",
        responses={200: s.MilestoneSerializer, **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="A milestone (with its ETag)",
        responses={
            200: s.MilestoneSerializer,
            304: OpenApiResponse(description="Not modified (If-None-Match)"),
            **READ_ERRORS,
        },
    ),
    create=extend_schema(
        summary="Plan a milestone at the end of the timeline (CPO)",
        responses={201: s.MilestoneSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Edit a milestone's name, objective or dates (CPO)",
        request=s.MilestoneUpdateSerializer,
        responses={200: s.MilestoneSerializer, **VERSIONED_WRITE_ERRORS},
    ),
)
class MilestoneViewSet(
    ActorMixin,
    VersionedObjectMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    model = Milestone
    serializer_class = s.MilestoneSerializer
    ordering = ["order"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def scoped_queryset(self):
        return selectors.milestones_with_progress(actor=self.actor)

    def write_refusal(self, milestone):
        return None if can_manage_roadmap(self.actor) else "only the CPO plans milestones"

    def _answer(self, milestone, *, status_code=200):
        # Read again with its progress figures (the service answers the bare row).
        return self.versioned(self.scoped_queryset().get(pk=milestone.pk), status_code=status_code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        milestone = services.milestone_create(actor=self.actor, **serializer.validated_data)
        return self._answer(milestone, status_code=201)

    def partial_update(self, request, *args, **kwargs):
        milestone = self.get_object()
        version = expected_version(request, milestone.version)
        body = s.MilestoneUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        milestone = services.milestone_update(
            actor=self.actor,
            milestone=milestone,
            data=dict(body.validated_data),
            expected_version=version,
        )
        return self._answer(milestone)

    @extend_schema(
        summary="Move a milestone on the timeline (CPO)",
        description="Right after `after`, right before `before`, or first. Requires `If-Match`.",
        request=s.RankSerializer,
        responses={200: s.MilestoneSerializer, **VERSIONED_WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        milestone = self.get_object()
        version = expected_version(request, milestone.version)
        body = s.RankSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        timeline = Milestone.objects.filter(flow_team=self.actor.flow_team)
        milestone = services.milestone_move(
            actor=self.actor,
            milestone=milestone,
            expected_version=version,
            after=_neighbour(timeline, body.validated_data.get("after"), "after"),
            before=_neighbour(timeline, body.validated_data.get("before"), "before"),
        )
        return self._answer(milestone)

    @extend_schema(
        summary="Close a milestone (CPO): its epics stay on it, none moves in any more",
        request=None,
        responses={200: s.MilestoneSerializer, **VERSIONED_WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        milestone = self.get_object()
        milestone = services.milestone_close(
            actor=self.actor,
            milestone=milestone,
            expected_version=expected_version(request, milestone.version),
        )
        return self._answer(milestone)


class RoadmapChangeFilter(filters.FilterSet):
    # The roadmap's "changes since the last refinement": the caller names the moment.
    since = BoundedIsoDateTimeFilter(field_name="at", lookup_expr="gte")
    # Plain numbers: a choice filter would tell another Flow Team's ids apart (400 vs 200).
    epic = filters.NumberFilter(field_name="epic")
    milestone = filters.NumberFilter(field_name="milestone")
    kind = filters.MultipleChoiceFilter(choices=RoadmapChange.Kind.choices)

    class Meta:
        model = RoadmapChange
        fields = ["since", "kind", "epic", "milestone"]


@extend_schema_view(
    list=extend_schema(
        summary="Epic and milestone changes (append-only), oldest first",
        responses={200: s.RoadmapChangeSerializer, **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One epic or milestone change",
        responses={200: s.RoadmapChangeSerializer, **READ_ERRORS},
    ),
)
class RoadmapChangeViewSet(ActorMixin, viewsets.ReadOnlyModelViewSet):
    model = RoadmapChange
    serializer_class = s.RoadmapChangeSerializer
    filterset_class = RoadmapChangeFilter
    ordering = ["at", "id"]

    def scoped_queryset(self):
        return RoadmapChange.objects.filter(flow_team=self.actor.flow_team)
