from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from teams import selectors
from teams.context_processors import current_actor


class LoginView(auth_views.LoginView):
    template_name = "teams/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """Sign out is a POST (Django refuses GET), so a link cannot sign anyone out."""


@login_required
def flow_team_page(request):
    actor = current_actor(request)
    if actor is None:
        raise Http404("not a member of any Flow Team")
    return render(
        request,
        "teams/flow_team.html",
        {"overview": selectors.flow_team_overview(actor=actor)},
    )
