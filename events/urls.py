from django.urls import path

from events import (
    daily_views,
    improvement_views,
    planning2_views,
    planning_views,
    refinement_views,
    retro_views,
    review_views,
    risk_views,
    roadmap_views,
    sos_views,
    team_planning_views,
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
    path("improvements/", improvement_views.improvements_page, name="improvements"),
    path(
        "improvements/teams/<int:team_id>/",
        improvement_views.team_panel,
        name="improvements-team-panel",
    ),
    path("improvements/<int:item_id>/move/", improvement_views.item_move, name="improvement-move"),
    path("improvements/<int:item_id>/done/", improvement_views.item_done, name="improvement-done"),
    path(
        "improvements/live/<int:scope>/",
        improvement_views.improvements_live,
        name="improvements-live",
    ),
    path("events/<int:pk>/daily/", daily_views.daily_screen, name="daily-screen"),
    path("events/<int:pk>/daily/live/", daily_views.daily_live, name="daily-live"),
    path("events/<int:pk>/daily/note/", daily_views.note_save, name="daily-note"),
    path("events/<int:pk>/daily/timer/", daily_views.timer, name="daily-timer"),
    path("events/<int:pk>/daily/blockers/", daily_views.blocker_raise, name="daily-blocker"),
    path(
        "events/<int:pk>/daily/stories/<int:story_id>/move/",
        daily_views.story_move,
        name="daily-move",
    ),
    path(
        "events/<int:pk>/daily/stories/<int:story_id>/clear/",
        daily_views.blocker_clear,
        name="daily-clear",
    ),
    # Product Backlog Refinement: epics split into stories, criteria, planning poker.
    path("events/<int:pk>/refinement/", refinement_views.screen, name="refinement-screen"),
    path(
        "events/<int:pk>/refinement/live/",
        refinement_views.refinement_live,
        name="refinement-live",
    ),
    path(
        "events/<int:pk>/refinement/stories/",
        refinement_views.story_add,
        name="refinement-story-add",
    ),
    path(
        "events/<int:pk>/refinement/criteria/",
        refinement_views.criterion_add,
        name="refinement-criterion-add",
    ),
    path(
        "events/<int:pk>/refinement/criteria/<int:criterion_id>/check/",
        refinement_views.criterion_check,
        name="refinement-criterion-check",
    ),
    path(
        "events/<int:pk>/refinement/criteria/<int:criterion_id>/delete/",
        refinement_views.criterion_delete,
        name="refinement-criterion-delete",
    ),
    path("events/<int:pk>/refinement/poker/", refinement_views.round_open, name="poker-open"),
    path(
        "events/<int:pk>/refinement/poker/<int:round_id>/vote/",
        refinement_views.vote,
        name="poker-vote",
    ),
    path(
        "events/<int:pk>/refinement/poker/<int:round_id>/reveal/",
        refinement_views.reveal,
        name="poker-reveal",
    ),
    path(
        "events/<int:pk>/refinement/poker/<int:round_id>/agree/",
        refinement_views.agree,
        name="poker-agree",
    ),
    path(
        "events/<int:pk>/refinement/poker/<int:round_id>/revote/",
        refinement_views.revote,
        name="poker-revote",
    ),
    path("events/<int:pk>/review/", review_views.review_page, name="review-page"),
    path("events/<int:pk>/review/feedback/", review_views.feedback_new, name="review-feedback"),
    path(
        "events/<int:pk>/review/feedback/<int:feedback_id>/story/",
        review_views.feedback_to_story,
        name="review-feedback-story",
    ),
    path("events/<int:pk>/review/order/", review_views.demo_order, name="review-order"),
    path("events/<int:pk>/review/outcome/", review_views.goal_outcome, name="review-outcome"),
    path("events/<int:pk>/review/outputs/", review_views.outputs, name="review-outputs"),
    path("events/<int:pk>/review/live/", review_views.review_live, name="review-live"),
    path("events/<int:pk>/team-planning/", team_planning_views.board, name="team-planning"),
    path(
        "events/<int:pk>/team-planning/plan/", team_planning_views.plan, name="team-planning-plan"
    ),
    path(
        "events/<int:pk>/team-planning/days/",
        team_planning_views.availability,
        name="team-planning-availability",
    ),
    path(
        "events/<int:pk>/team-planning/capacity/",
        team_planning_views.capacity_points,
        name="team-planning-capacity",
    ),
    path(
        "events/<int:pk>/team-planning/goal/", team_planning_views.goal, name="team-planning-goal"
    ),
    path(
        "events/<int:pk>/team-planning/tasks/",
        team_planning_views.task_add,
        name="team-planning-task-add",
    ),
    path(
        "events/<int:pk>/team-planning/tasks/<int:task_id>/done/",
        team_planning_views.task_done,
        name="team-planning-task-done",
    ),
    path(
        "events/<int:pk>/team-planning/live/",
        team_planning_views.team_planning_live,
        name="team-planning-live",
    ),
]
