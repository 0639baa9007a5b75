"""Guards in front of every view: bodies over the size limit and control characters in
query strings or form fields are refused before any view or form sees them."""

from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from sem.api import (
    LINE_BREAKS,
    PROBLEM_BASE,
    PROBLEM_CONTENT_TYPE,
    api_body_limit,
    control_character,
)

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _refuse(request, status: int, type_: str, title: str, detail: str, field=None, reason=None):
    """The API's problem body under /api/, a short page elsewhere."""
    if request.path.startswith("/api/"):
        body = {"type": PROBLEM_BASE + type_, "title": title, "status": status, "detail": detail}
        if field is not None:
            body["errors"] = {field: [reason]}
        return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    page = render_to_string(
        "400.html", {"status": status, "field": field or "body", "reason": reason or detail}
    )
    return HttpResponse(page, status=status)


class ApiBodyLimitMiddleware:
    """Refuse oversized bodies with 413 before anything reads them: API calls and form
    posts alike (a page's forms hold a few short fields)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = api_body_limit()
        if length > limit:
            return _refuse(
                request,
                413,
                "too-large",
                "Request body too large",
                f"the body has {length} bytes; the limit is {limit}",
            )
        return self.get_response(request)


class ControlCharacterMiddleware:
    """A query parameter or form field holding a control character is a 400 naming it.

    No form or filter here takes one (a NUL even breaks PostgreSQL), and checking once
    in front of every view covers pages, the admin and the API's query strings alike.
    Form values keep tab and line breaks, which text areas send. JSON bodies are the
    API serializers' to check (``sem.api.StrictFieldsMixin``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        found = self._first_refused(request.GET, value_allows="")
        if found is None and request.method == "POST" and request.content_type in FORM_TYPES:
            found = self._first_refused(request.POST, value_allows=LINE_BREAKS)
        if found is not None:
            name, char = found
            reason = f"may not contain the control character {char}"
            return _refuse(
                request,
                400,
                "validation",
                "Invalid request",
                f"{name}: {reason}",
                field=name,
                reason=reason,
            )
        return self.get_response(request)

    @staticmethod
    def _first_refused(data, *, value_allows: str):
        for name, values in data.lists():
            char = control_character(name)
            if char:
                return repr(name)[1:-1], char
            for value in values:
                char = control_character(value, allowed=value_allows)
                if char:
                    return name, char
        return None
