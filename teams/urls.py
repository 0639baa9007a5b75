from django.urls import path

from teams import views

app_name = "teams"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("flow-team/", views.flow_team_page, name="flow-team"),
    path("account/tokens/", views.api_tokens, name="api-tokens"),
]
