from django.urls import path

from events import (
    planning2_views,
    planning_views,
    retro_views,
    risk_views,
    roadmap_views,
    sos_views,
    views,
)

urlpatterns = [
    path("", views.home, name="home"),
    path("calendar/", views.calendar_page, name="calendar"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar-feed"),
    path("events/<int:pk>/", views.event_detail, name="event-detail"),
    path("events/scrum-of-scrums/", sos_views.sos_record_page, name="sos-record"),
    path("events/<int:pk>/sos/", sos_views.sos_screen, name="sos-screen"),
    path("events/<int:pk>/sos/live/", sos_views.sos_live, name="sos-live"),
    path("events/<int:pk>/sos/teams/<int:team_id>/", sos_views.sos_answer, name="sos-answer"),
    path("events/<int:pk>/sos/actions/", sos_views.sos_action_add, name="sos-action-add"),
    path(
        "events/<int:pk>/sos/actions/<int:item_pk>/close/",
        sos_views.sos_action_close,
        name="sos-action-close",
    ),
    path("events/<int:pk>/live/", views.event_live, name="event-live"),
    path("events/<int:pk>/risks/", risk_views.register, name="risks-register"),
    path("events/<int:pk>/risks/new/", risk_views.risk_new, name="risks-new"),
    path("events/<int:pk>/risks/<int:risk_id>/", risk_views.risk_edit, name="risks-edit"),
    path("events/<int:pk>/risks/live/", risk_views.risks_live, name="risks-live"),
    path("events/<int:pk>/planning-2/", planning2_views.board, name="planning-2-board"),
    path("events/<int:pk>/planning-2/goal/", planning2_views.goal_draft, name="planning-2-draft"),
    path(
        "events/<int:pk>/planning-2/confirm/",
        planning2_views.goal_confirm,
        name="planning-2-confirm",
    ),
    path(
        "events/<int:pk>/planning-2/live/", planning2_views.planning_2_live, name="planning-2-live"
    ),
    path(
        "events/<int:pk>/planning-1/",
        planning_views.planning_board_page,
        name="planning-1-board",
    ),
    path(
        "events/<int:pk>/planning-1/stories/<int:story_pk>/",
        planning_views.planning_story,
        name="planning-1-story",
    ),
    path(
        "events/<int:pk>/planning-1/dependencies/<int:dependency_pk>/",
        planning_views.planning_dependency,
        name="planning-1-dependency",
    ),
    path("events/<int:pk>/planning-1/live/", planning_views.planning_live, name="planning-1-live"),
    path("events/<int:pk>/retro/", retro_views.board, name="retro-board"),
    path("events/<int:pk>/retro/settings/", retro_views.retro_settings, name="retro-settings"),
    path("events/<int:pk>/retro/phase/", retro_views.retro_phase, name="retro-phase"),
    path("events/<int:pk>/retro/cards/", retro_views.card_save, name="retro-card-save"),
    path(
        "events/<int:pk>/retro/cards/<int:card_id>/edit/",
        retro_views.card_edit_form,
        name="retro-card-edit",
    ),
    path(
        "events/<int:pk>/retro/cards/<int:card_id>/delete/",
        retro_views.card_delete,
        name="retro-card-delete",
    ),
    path(
        "events/<int:pk>/retro/cards/<int:card_id>/group/",
        retro_views.card_group,
        name="retro-card-group",
    ),
    path(
        "events/<int:pk>/retro/cards/<int:card_id>/vote/",
        retro_views.card_vote,
        name="retro-card-vote",
    ),
    path("events/<int:pk>/retro/actions/", retro_views.action_new, name="retro-action-new"),
    path(
        "events/<int:pk>/retro/actions/<int:action_id>/done/",
        retro_views.action_done,
        name="retro-action-done",
    ),
    path("events/<int:pk>/retro/live/", retro_views.retro_live, name="retro-live"),
    path("roadmap/", roadmap_views.roadmap_page, name="roadmap"),
    path("roadmap/epics/<int:pk>/", roadmap_views.roadmap_epic, name="roadmap-epic"),
    path("roadmap/milestones/<int:pk>/", roadmap_views.roadmap_milestone, name="roadmap-milestone"),
    path("roadmap/live/<int:flow_team_id>/", roadmap_views.roadmap_live, name="roadmap-live"),
]
