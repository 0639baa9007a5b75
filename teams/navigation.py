"""The side navigation: one list, filtered per role. Add a screen with one line here.

URL names are strings, so this lower app never imports the higher apps that
serve the pages.
"""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from teams.permissions import Actor, can_see_events


@dataclass(frozen=True)
class NavItem:
    section: str
    label: str
    url_name: str
    # Who sees the entry; None = every member of the Flow Team.
    visible_to: object = None


NAV = [
    NavItem("Flow Team", "Home", "home"),
    NavItem("Flow Team", "Calendar", "calendar"),
    NavItem("Flow Team", "Roadmap", "roadmap"),
    NavItem("Flow Team", "Backlog", "backlog:backlog"),
    NavItem("Flow Team", "Flow Backlog", "improvements", visible_to=can_see_events),
    NavItem("Flow Team", "Metrics", "flow:metrics"),
    NavItem("Flow Team", "People and teams", "teams:flow-team"),
    NavItem("Integrations", "API tokens", "teams:api-tokens"),
    NavItem("Integrations", "API docs", "api-docs"),
]


def nav_for(actor: Actor | None, user, path: str) -> list[dict]:
    items = []
    for item in NAV:
        if actor is None and item.url_name != "home":
            continue
        if item.visible_to is not None and not item.visible_to(actor):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:  # the screen's app is not installed in this setup
            continue
        active = path == url if url == "/" else path.startswith(url)
        items.append({"section": item.section, "label": item.label, "url": url, "active": active})
    if user.is_staff:
        items.append(
            {
                "section": "Settings",
                "label": "Admin",
                "url": reverse("admin:index"),
                "active": False,
            }
        )
    return items
