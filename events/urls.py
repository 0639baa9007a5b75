from django.urls import path

from events import roadmap_views, sos_views, views

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
    path("roadmap/", roadmap_views.roadmap_page, name="roadmap"),
    path("roadmap/epics/<int:pk>/", roadmap_views.roadmap_epic, name="roadmap-epic"),
    path("roadmap/milestones/<int:pk>/", roadmap_views.roadmap_milestone, name="roadmap-milestone"),
    path("roadmap/live/<int:flow_team_id>/", roadmap_views.roadmap_live, name="roadmap-live"),
]
