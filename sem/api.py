"""Shared REST plumbing: problem-details errors, pagination, If-Match / ETag, throttling.

Every 4xx answers with one body shape (RFC 9457 problem details)::

    {"type": "…/problems/validation", "title": "…", "status": 400,
     "detail": "…", "errors": {"field": ["reason", …]}}

Versioned objects (stories, epics, dependencies, risks) carry an ``ETag`` of
their version; writes must send ``If-Match`` with it (428 without, 412 when
stale, with the current version in the body).
"""

import re

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.views.decorators.csrf import csrf_exempt
from django_filters import rest_framework as filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler

from sem.errors import NotFound, PermissionRefused, RuleViolation, VersionConflict

# ASCII digits only: str.isdigit() also accepts "²" and other Unicode digits.
WHOLE_NUMBER = re.compile(r"[0-9]+")
PROBLEM_BASE = "https://semflow.example.com/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_detail = "send If-Match with the ETag you read; writes without it could lose updates"
    default_code = "precondition_required"


class PreconditionFailed(exceptions.APIException):
    status_code = 412
    default_detail = "the object changed since you read it"
    default_code = "precondition_failed"

    def __init__(self, current_version: int):
        self.current_version = current_version
        super().__init__(
            f"the object changed since you read it; its current version is {current_version}"
        )


def _flatten(detail, prefix="") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field.sub": ["reason"]}."""
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" and prefix:
                name = prefix
            out.update(_flatten(value, name))
        return out
    if isinstance(detail, list):
        if all(not isinstance(d, dict | list) for d in detail):
            return {prefix or "non_field_errors": [str(d) for d in detail]}
        out = {}
        for i, value in enumerate(detail):
            out.update(_flatten(value, f"{prefix}[{i}]"))
        return out
    return {prefix or "non_field_errors": [str(detail)]}


TITLES = {
    400: "Invalid request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Request body too large",
    415: "Unsupported media type",
    428: "Precondition required",
    429: "Too many requests",
}


def problem(status_code: int, detail: str, *, errors=None, type_=None, **extra) -> Response:
    body = {
        "type": PROBLEM_BASE + (type_ or str(status_code)),
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def problem_exception_handler(exc, context):
    """Map domain errors and DRF's errors to one problem-details body."""
    if isinstance(exc, RuleViolation):
        errors = exc.detail
        first = next(iter(errors.items()))
        return problem(400, f"{first[0]}: {first[1][0]}", errors=errors, type_="rule")
    if isinstance(exc, VersionConflict):
        exc = PreconditionFailed(exc.current_version)
    if isinstance(exc, PermissionRefused):
        return problem(403, str(exc) or "your role may not do this", type_="forbidden")
    if isinstance(exc, NotFound | Http404):
        return problem(404, "no such object in your Flow Team", type_="not-found")
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = response.status_code
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first = next(iter(errors.items()), ("request", ["invalid"]))
        new = problem(code, f"{first[0]}: {first[1][0]}", errors=errors, type_="validation")
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        extra = {}
        if isinstance(exc, PreconditionFailed):
            extra["current_version"] = exc.current_version
        new = problem(code, str(detail), type_=getattr(exc, "default_code", None), **extra)
    for header in ("Retry-After", "WWW-Authenticate", "Allow"):
        if header in response:
            new[header] = response[header]
    return new


class Pagination(LimitOffsetPagination):
    """50 per page by default, at most 200. A malformed limit or offset is a 400, not ignored."""

    default_limit = 50
    max_limit = 200

    def _strict(self, request, name):
        raw = request.query_params.getlist(name)
        if not raw:
            return
        if len(raw) > 1 or not WHOLE_NUMBER.fullmatch(raw[0]):
            raise exceptions.ValidationError({name: ["a whole number, given once"]})

    def get_limit(self, request):
        self._strict(request, self.limit_query_param)
        limit = super().get_limit(request)
        return limit if limit else self.default_limit

    def get_offset(self, request):
        self._strict(request, self.offset_query_param)
        return super().get_offset(request)


@csrf_exempt  # it writes nothing; a CSRF page would hide the API's 404
def api_not_found(request, *args, **kwargs):
    """Unknown /api/ URLs answer in the API's own error shape, not an HTML page."""
    from django.http import JsonResponse

    return JsonResponse(
        {
            "type": PROBLEM_BASE + "not-found",
            "title": "Not found",
            "status": 404,
            "detail": "no such API resource",
        },
        status=404,
        content_type=PROBLEM_CONTENT_TYPE,
    )


class StrictFieldsMixin:
    """Refuse fields the serializer does not know, or may not write, naming them."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, f in self.fields.items() if not f.read_only}
            # Update serializers name the representation's other fields as read-only.
            known = set(self.fields) | set(getattr(self, "read_only_names", ()))
            errors = {}
            for name in data:
                if name not in known:
                    errors[name] = ["unknown field"]
                elif name not in writable:
                    errors[name] = ["read-only field"]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def etag_for(version: int) -> str:
    return f'"{version}"'


def expected_version(request) -> int:
    """The version the client read, from If-Match. 428 without it."""
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired()
    value = header.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value.isdigit():
        raise exceptions.ValidationError({"If-Match": ['send the ETag you read, e.g. "3"']})
    return int(value)


class VersionedObjectMixin:
    """ETag on every single-object response; If-None-Match answers 304."""

    def retrieve(self, request, *args, **kwargs):
        obj = self.get_object()
        tag = etag_for(obj.version)
        if request.headers.get("If-None-Match", "").replace("W/", "") == tag:
            response = Response(status=status.HTTP_304_NOT_MODIFIED)
        else:
            response = Response(self.get_serializer(obj).data)
        response["ETag"] = tag
        return response

    def versioned(self, obj, *, status_code=200) -> Response:
        response = Response(self.get_serializer(obj).data, status=status_code)
        response["ETag"] = etag_for(obj.version)
        return response


# --- Documented error responses for drf-spectacular -------------------------------

PROBLEM_SCHEMA = inline_serializer(
    name="Problem",
    fields={
        "type": serializers.URLField(),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()), required=False
        ),
        "current_version": serializers.IntegerField(required=False),
    },
)


def _problem(description):
    return OpenApiResponse(response=PROBLEM_SCHEMA, description=description)


def _errors(**descriptions) -> dict:
    """Error responses keyed (status, media type): they are problem+json, not plain JSON."""
    return {
        (int(code[1:]), PROBLEM_CONTENT_TYPE): _problem(text) for code, text in descriptions.items()
    }


READ_ERRORS = _errors(
    s400="Invalid query parameter or filter: `errors` names each one and why.",
    s401="Not authenticated: send a session cookie or `Authorization: Bearer <token>`.",
    s404="No such object in your Flow Team (another Flow Team's data looks like this).",
    s429="Too many requests for this token; retry after `Retry-After` seconds.",
)
WRITE_ERRORS = {
    **READ_ERRORS,
    **_errors(
        s400="Invalid input: `errors` names each bad field and why; nothing was written.",
        s403="Your role may not make this change.",
        s413="Request body too large.",
    ),
}
VERSIONED_WRITE_ERRORS = {
    **WRITE_ERRORS,
    **_errors(
        s412="Stale `If-Match`: someone changed the object; `current_version` says to what.",
        s428="`If-Match` missing: send the `ETag` you read.",
    ),
}


def api_body_limit() -> int:
    return getattr(settings, "API_MAX_BODY_BYTES", 256 * 1024)


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter quietly ignores empty or malformed values; the API refuses them (400)."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        errors = {}
        for name, field in filterset.filters.items():
            values = request.query_params.getlist(name)
            if not values:
                continue
            if len(values) > 1 and not isinstance(field, filters.MultipleChoiceFilter):
                errors[name] = ["give this filter once"]
                continue
            for value in values:
                if value == "":
                    errors[name] = ["may not be empty; leave the parameter out instead"]
                elif isinstance(
                    field, filters.NumberFilter | filters.ModelChoiceFilter
                ) and not WHOLE_NUMBER.fullmatch(value.removeprefix("-")):
                    errors[name] = ["a whole number"]
                elif isinstance(field, filters.BooleanFilter) and value not in ("true", "false"):
                    errors[name] = ["true or false"]
        if errors:
            raise exceptions.ValidationError(errors)
        return filterset
