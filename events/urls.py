from django.urls import path

from events import views

urlpatterns = [
    path("", views.home, name="home"),
    path("calendar/", views.calendar_page, name="calendar"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar-feed"),
    path("events/<int:pk>/", views.event_detail, name="event-detail"),
    path("events/<int:pk>/live/", views.event_live, name="event-live"),
]
