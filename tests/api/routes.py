"""The API's routes as the router builds them, so the role matrix and the query budgets
walk every route: a new viewset, action or method cannot escape them."""

from typing import NamedTuple

from django.urls import resolve

from sem.api_urls import router

WRITE_METHODS = {"post", "put", "patch", "delete"}


class Route(NamedTuple):
    basename: str  # the router prefix: "stories"
    action: str  # the viewset action: "partial_update", "rank"
    method: str  # "patch"
    detail: bool


def api_routes() -> set[Route]:
    found = set()
    for _prefix, viewset, basename in router.registry:
        for route in router.get_routes(viewset):
            for method, action in router.get_method_map(viewset, route.mapping).items():
                found.add(Route(basename, action, method, route.detail))
    return found


def write_routes() -> set[tuple[str, str, str]]:
    return {(r.basename, r.action, r.method) for r in api_routes() if r.method in WRITE_METHODS}


def list_routes() -> set[str]:
    return {r.basename for r in api_routes() if r.action == "list"}


def route_of(method: str, url: str) -> tuple[str, str, str]:
    """(basename, action, method) that a request would reach."""
    match = resolve(url.split("?")[0])
    basenames = {viewset: basename for _, viewset, basename in router.registry}
    return basenames[match.func.cls], match.func.actions[method], method
