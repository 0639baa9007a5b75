import unicodedata

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from teams import selectors
from teams.context_processors import member_actor


def login_username(request, credentials=None) -> str | None:
    """The account a sign-in attempt is counted against (AXES_USERNAME_CALLABLE): the address
    as the login finds it (surrounding spaces dropped, case ignored), so "Cpo@Example.com "
    and "cpo@example.com" share one failure count."""
    source = credentials if credentials else getattr(request, "POST", {})
    username = source.get("username") if source else None
    if not isinstance(username, str):
        return username
    return unicodedata.normalize("NFKC", username).strip().lower()


class LoginView(auth_views.LoginView):
    template_name = "teams/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """Sign out is a POST (Django refuses GET), so a link cannot sign anyone out."""


@login_required
def flow_team_page(request):
    actor = member_actor(request)
    return render(
        request,
        "teams/flow_team.html",
        {"overview": selectors.flow_team_overview(actor=actor)},
    )


@login_required
def api_tokens(request):
    """A person's personal API tokens: create (the secret is shown once), list, revoke."""
    from django.contrib import messages
    from django.shortcuts import redirect

    from sem.errors import RuleViolation
    from teams import services

    new_secret, errors = None, {}
    if request.method == "POST":
        try:
            if "revoke" in request.POST:
                token = services.api_token_revoke(
                    user=request.user, token_id=int(request.POST["revoke"])
                )
                messages.success(request, f"Revoked “{token.name}”. Scripts using it now get 401.")
                return redirect("teams:api-tokens")
            _, new_secret = services.api_token_create(
                user=request.user, name=request.POST.get("name", "")
            )
        except (RuleViolation, ValueError) as refusal:
            errors = getattr(refusal, "detail", {"token": ["no such token"]})
    return render(
        request,
        "teams/api_tokens.html",
        {
            "tokens": selectors.api_token_list(user=request.user),
            "new_secret": new_secret,
            "errors": errors,
        },
    )
