"""Shared REST plumbing: problem-details errors, pagination, If-Match / ETag, throttling.

Every 4xx answers with one body shape (RFC 9457 problem details)::

    {"type": "…/problems/validation", "title": "…", "status": 400,
     "detail": "…", "errors": {"field": ["reason", …]}}

Versioned objects (stories, epics, dependencies, risks) carry an ``ETag`` of
their version; writes must send ``If-Match`` with it (428 without, 412 when
stale, with the current version in the body). Conditional headers follow RFC 9110
section 13: ``*``, lists of entity tags, strong comparison for ``If-Match`` and weak
comparison for ``If-None-Match``; a malformed one is a 400 naming it.

Input is taken as sent, never coerced: a JSON body nested deeper than
32 levels is refused (``sem.api_parsers``), a field gets only its own JSON type (no ``"5"`` for 5,
no ``123`` for a title), text holds no control characters, and a query parameter the
route does not know is a 400 naming it.
"""

import datetime as dt
import re
import unicodedata

from django import forms as django_forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404
from django.views.decorators.csrf import csrf_exempt
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, relations, serializers, status
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from sem.errors import NotFound, PermissionRefused, RuleViolation, VersionConflict

# ASCII digits only: str.isdigit() also accepts "²" and other Unicode digits.
WHOLE_NUMBER = re.compile(r"[0-9]+")
# Ids and counts are 64-bit in the database; a bigger number would overflow the driver.
BIGGEST_NUMBER = 2**63 - 1
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


class Conflict(exceptions.APIException):
    """The request was made against a state that is gone (a proposal someone else's
    change has overtaken): read again and decide again."""

    status_code = 409
    default_detail = "something changed since you read it; read it again"
    default_code = "conflict"


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
        if int(raw[0]) > BIGGEST_NUMBER:
            raise exceptions.ValidationError({name: [f"at most {BIGGEST_NUMBER}"]})

    def get_limit(self, request):
        self._strict(request, self.limit_query_param)
        limit = super().get_limit(request)
        return limit if limit else self.default_limit

    def get_offset(self, request):
        self._strict(request, self.offset_query_param)
        return super().get_offset(request)

    def get_paginated_response_schema(self, schema):
        page = super().get_paginated_response_schema(schema)
        page["required"] = ["count", "next", "previous", "results"]  # always sent
        page["description"] = (
            "A page of results: `count` in all, links to the `next` and `previous` pages "
            "(null at either end), and this page's `results`."
        )
        return page


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


def _json_type(value) -> str:
    """The JSON type of a value that is not null (``strict_type_errors`` leaves null to the
    field's own ``allow_null``)."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _is_whole_number(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _choice_type(field) -> str:
    keys = list(field.choices)
    return "a whole number" if keys and all(_is_whole_number(k) for k in keys) else "a string"


def control_character(text: str, *, allowed: str = "") -> str | None:
    """The first control character (Unicode Cc) in ``text`` outside ``allowed``, named,
    or None.

    Control characters never belong in text; a NUL would even break PostgreSQL. The
    API's long text fields and the pages' form values keep tab and line breaks
    (``LINE_BREAKS``). (Lone surrogates, which UTF-8 cannot store, never get here: the
    API's JSON parser refuses them, sem/api_parsers.py, and Django decodes query strings
    and forms with replacement characters.)"""
    for char in text:
        if unicodedata.category(char) == "Cc" and char not in allowed:
            return f"U+{ord(char):04X}"
    return None


LINE_BREAKS = "\t\n\r"


def _is_string(value) -> bool:
    return isinstance(value, str)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _expected_type(field):
    """(what ``field`` takes in JSON words, a test for it), or (None, None) for any."""
    if isinstance(field, serializers.BooleanField):
        return "true or false", lambda v: isinstance(v, bool)
    if isinstance(
        field,
        serializers.MultipleChoiceField
        | relations.ManyRelatedField
        | serializers.ListField
        | serializers.ListSerializer,
    ):
        return "a list", lambda v: isinstance(v, list)
    if isinstance(field, serializers.ChoiceField):
        kind = _choice_type(field)
        return kind, _is_whole_number if kind == "a whole number" else _is_string
    if isinstance(field, relations.RelatedField):
        return "an id (a whole number)", _is_whole_number
    if isinstance(field, serializers.IntegerField):
        return "a whole number", _is_whole_number
    if isinstance(field, serializers.FloatField | serializers.DecimalField):
        return "a number", _is_number
    if isinstance(
        field,
        serializers.CharField
        | serializers.DateField
        | serializers.DateTimeField
        | serializers.TimeField
        | serializers.DurationField,
    ):
        return "a string", _is_string
    if isinstance(field, serializers.DictField | serializers.Serializer):
        return "an object", lambda v: isinstance(v, dict)
    return None, None


def strict_type_errors(field, value) -> list[str]:
    """Why ``value`` is not what ``field`` takes, in JSON terms; [] when it is.

    DRF coerces ("5" into 5, 123 into "123", "yes" into true); the API does not: a
    client that sends the wrong type has a bug it should hear about."""
    if value is None:
        return []  # the field's own allow_null says whether null is fine
    expected, fits = _expected_type(field)
    if expected and not fits(value):
        return [f"must be {expected}, not {_json_type(value)}"]
    child = getattr(field, "child", None) or getattr(field, "child_relation", None)
    if isinstance(value, list) and child is not None:
        for i, item in enumerate(value):
            errors = strict_type_errors(child, item)
            if errors:
                return [f"item {i}: {errors[0]}"]
    if _is_whole_number(value) and abs(value) > BIGGEST_NUMBER:
        return [f"out of range: at most {BIGGEST_NUMBER} either way"]
    if isinstance(value, str) and isinstance(field, serializers.CharField):
        # Long text (no max_length: description, i_want …) may span lines; titles may not.
        found = control_character(value, allowed=LINE_BREAKS if field.max_length is None else "")
        if found:
            return [f"may not contain the control character {found}"]
    return []


class StrictFieldsMixin:
    """Refuse fields the serializer does not know, or may not write, naming them, and
    values of the wrong JSON type or with control characters (``strict_type_errors``)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name: f for name, f in self.fields.items() if not f.read_only}
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
            for name, value in data.items():
                wrong = strict_type_errors(writable[name], value)
                if wrong:
                    errors[name] = wrong
            if errors:
                # Name the other fields' faults too, as DRF would: one round trip fixes all.
                rest = {k: v for k, v in data.items() if k not in errors}
                try:
                    super().to_internal_value(rest)
                except serializers.ValidationError as others:
                    if isinstance(others.detail, dict):
                        errors = {**others.detail, **errors}
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def whole_number_or_404(text: str) -> int:
    """An id from a URL: anything but a whole number the database can hold is no object."""
    if not WHOLE_NUMBER.fullmatch(text) or int(text) > BIGGEST_NUMBER:
        raise Http404
    return int(text)


def etag_for(version: int) -> str:
    return f'"{version}"'


# RFC 9110 section 8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc being
# "!", "#" to "~" and obs-text; a list may hold empty elements (section 5.6.1).
_ETAG = r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"'
# Written so that no run of spaces can be split two ways: no backtracking blow-up.
_ETAG_LIST = re.compile(rf"[ \t]*(?:{_ETAG}[ \t]*)?(?:,[ \t]*(?:{_ETAG}[ \t]*)?)*")
_ETAG_PARTS = re.compile(r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"')


def _entity_tags(request, header: str) -> list[tuple[bool, str]] | None:
    """The (weak, opaque-tag) pairs of a conditional header, or None for ``*``.

    A malformed header is a 400 naming it: guessing what a client meant could let a
    write through that its author meant to make conditional."""
    raw = request.headers.get(header, "")
    value = raw.strip(" \t")
    if value == "*":
        return None
    tags = (
        [(bool(w), tag) for w, tag in _ETAG_PARTS.findall(value)]
        if _ETAG_LIST.fullmatch(value)
        else []
    )
    if not tags:
        raise exceptions.ValidationError(
            {header: ['send "*" or entity tags as the ETag shows them, e.g. "3" or "2", "3"']}
        )
    return tags


def expected_version(request, current_version: int) -> int:
    """The version a conditional write may go ahead on, from If-Match (RFC 9110 13.1.1).

    428 without If-Match; ``*`` or a listed tag equal to the current ETag (strong
    comparison: a weak ``W/"3"`` never matches) gives ``current_version``, which the
    service checks again under its lock; anything else is a 412 naming the current
    version. If-None-Match on a write (``*``, or a tag matching weakly) is a 412 too."""
    if not request.headers.get("If-Match", "").strip(" \t"):
        raise PreconditionRequired()
    tags = _entity_tags(request, "If-Match")
    current = str(current_version)
    if tags is not None and (False, current) not in tags:
        raise PreconditionFailed(current_version)
    if "If-None-Match" in request.headers and _none_match(request, current_version):
        raise PreconditionFailed(current_version)
    return current_version


_ONE_STRONG_VERSION = re.compile(r'[ \t]*"([0-9]{1,18})"[ \t]*')


def single_version(request) -> int | None:
    """The version an ``If-Match`` of exactly one strong tag names (``"3"``), else None:
    a write that knows its version up front can make it the condition of one statement;
    every other header (none, ``*``, lists, weak tags, malformed) goes through
    ``expected_version``."""
    found = _ONE_STRONG_VERSION.fullmatch(request.headers.get("If-Match", ""))
    return int(found[1]) if found else None


def _none_match(request, current_version: int) -> bool:
    """True when If-None-Match names the current representation (weak comparison,
    RFC 9110 13.1.2): ``*``, or a tag whose opaque part equals the version."""
    tags = _entity_tags(request, "If-None-Match")
    return tags is None or any(tag == str(current_version) for _, tag in tags)


class VersionedObjectMixin:
    """ETag on every single-object response; If-None-Match answers 304 when it names the
    current version (weakly) or is ``*``; a malformed one is a 400."""

    def retrieve(self, request, *args, **kwargs):
        obj = self.get_object()
        tag = etag_for(obj.version)
        if "If-None-Match" in request.headers and _none_match(request, obj.version):
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


class ProblemSerializer(serializers.Serializer):
    """An error, as RFC 9457 problem details: `errors` names each bad field or parameter
    and why; a 412 says the object's `current_version`."""

    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
    current_version = serializers.IntegerField(required=False)


PROBLEM_SCHEMA = ProblemSerializer


def _problem(description):
    return OpenApiResponse(response=PROBLEM_SCHEMA, description=description)


def _errors(**descriptions) -> dict:
    """Error responses keyed (status, media type): they are problem+json, not plain JSON."""
    return {
        (int(code[1:]), PROBLEM_CONTENT_TYPE): _problem(text) for code, text in descriptions.items()
    }


READ_ERRORS = _errors(
    s400="Invalid, repeated or unknown query parameter, or a malformed `If-None-Match`: "
    "`errors` names each one and why.",
    s401="Not authenticated: send a session cookie or `Authorization: Bearer <token>`.",
    s404="No such object in your Flow Team (another Flow Team's data looks like this).",
    s429="Too many requests for this token; retry after `Retry-After` seconds.",
)
WRITE_ERRORS = {
    **READ_ERRORS,
    **_errors(
        s400="Invalid input (a wrong JSON type, a control character, an unknown field or "
        "query parameter, JSON nested too deeply, a malformed conditional header): `errors` "
        "names each and why; nothing was written.",
        s403="Your role may not make this change (answered before any precondition).",
        s413="Request body too large.",
        s415="The body is not JSON: send `Content-Type: application/json`.",
    ),
}
VERSIONED_WRITE_ERRORS = {
    **WRITE_ERRORS,
    **_errors(
        s412="Stale `If-Match`: someone changed the object; `current_version` says to what.",
        s428="`If-Match` missing: send the `ETag` you read.",
    ),
}


CONFLICT_ERRORS = _errors(
    s409="Something changed since you read it (`detail` names what): read again, decide again."
)


def api_body_limit() -> int:
    return getattr(settings, "API_MAX_BODY_BYTES", 256 * 1024)


class IdFilter(filters.NumberFilter):
    """A filter on a related object's id that never looks the object up.

    django-filter's default (ModelChoiceFilter) answers 400 "not a valid choice" for an id
    it cannot find in the whole table but filters quietly on another Flow Team's id, which
    tells a caller that the id exists elsewhere. Filtering on the bare id answers both with
    an empty list, since the queryset is already scoped to the caller's Flow Team.
    """

    field_class = django_forms.IntegerField


# PostgreSQL takes UTC offsets up to 15:59 and years 1 to 9999 once in UTC; anything
# else would reach the database and fail there (a 500).
MAX_UTC_OFFSET = dt.timedelta(hours=15, minutes=59)


class BoundedIsoDateTimeField(IsoDateTimeField):
    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return value
        # Always aware: Django gives a date-time without an offset the current time zone.
        if abs(value.utcoffset()) > MAX_UTC_OFFSET:
            raise django_forms.ValidationError("the UTC offset must be within ±15:59")
        # The database compares in UTC: a date-time at the ends of the calendar may fall
        # outside it there (Python's datetime holds the years 1 to 9999 only).
        try:
            value.astimezone(dt.UTC)
        except OverflowError:
            raise django_forms.ValidationError(
                "give a date-time between the years 1 and 9999"
            ) from None
        return value


class BoundedIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class IdFilterSet(filters.FilterSet):
    """The base of every API filter set: relations are filtered by id (``IdFilter``),
    date-times only within what the database can hold."""

    FILTER_DEFAULTS = {
        **filters.FilterSet.FILTER_DEFAULTS,
        models.ForeignKey: {"filter_class": IdFilter},
        models.OneToOneField: {"filter_class": IdFilter},
        models.DateTimeField: {"filter_class": BoundedIsoDateTimeFilter},
    }


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter quietly ignores empty or malformed values; the API refuses them (400)."""

    filterset_base = IdFilterSet

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
                elif isinstance(field, filters.NumberFilter | filters.ModelChoiceFilter):
                    if not WHOLE_NUMBER.fullmatch(value.removeprefix("-")):
                        errors[name] = ["a whole number"]
                    elif abs(int(value)) > BIGGEST_NUMBER:
                        errors[name] = [f"out of range: at most {BIGGEST_NUMBER} either way"]
                elif isinstance(field, filters.BooleanFilter) and value not in ("true", "false"):
                    errors[name] = ["true or false"]
        if not errors and filterset.is_valid():
            for name, value in filterset.form.cleaned_data.items():
                # 9999-12-31T23:59-10:00 is a valid date-time that UTC cannot hold.
                if isinstance(value, dt.datetime):
                    try:
                        value.astimezone(dt.UTC)
                    except OverflowError:
                        errors[name] = ["out of range"]
        if errors:
            raise exceptions.ValidationError(errors)
        return filterset

    def known_query_parameters(self, view) -> set[str]:
        queryset = view.get_queryset()
        filterset_class = self.get_filterset_class(view, queryset)
        return set(filterset_class.base_filters) if filterset_class else set()


class StrictOrderingFilter(OrderingFilter):
    """``?ordering=`` names fields the list can be sorted by; anything else is a 400
    (DRF would quietly fall back to the default order, or fail on a computed field)."""

    def get_ordering(self, request, queryset, view):
        values = request.query_params.getlist(self.ordering_param)
        if not values:
            return self.get_default_ordering(view)
        valid = self.orderable_fields(queryset, view, request)
        terms = [term.strip() for term in values[0].split(",")]
        wrong = [t for t in terms if t.removeprefix("-") not in valid]
        if len(values) > 1 or wrong:
            allowed = ", ".join(sorted(valid)) or "none"
            reason = "give it once" if len(values) > 1 else f"no field {wrong[0]!r} to sort by"
            raise exceptions.ValidationError(
                {self.ordering_param: [f"{reason}; sort by one of: {allowed}"]}
            )
        return terms

    def orderable_fields(self, queryset, view, request) -> set[str]:
        names = {name for name, _ in self.get_valid_fields(queryset, view, {"request": request})}
        if getattr(view, "ordering_fields", self.ordering_fields) is not None:
            return names
        # Left to the serializer's fields: only the ones the database can sort by.
        model = queryset.model
        columns = {f.name for f in model._meta.concrete_fields} | {
            f.attname for f in model._meta.concrete_fields
        }
        return {n for n in names if n in columns or n in queryset.query.annotations}

    def known_query_parameters(self, view) -> set[str]:
        return {self.ordering_param}

    def get_schema_operation_parameters(self, view):
        fields = sorted(self.orderable_fields(view.get_queryset(), view, None))
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Sort by this field, descending with a leading `-`; a "
                "comma-separated list of them sorts by each in turn. Anything else is a 400.",
                "schema": {
                    "type": "string",
                    "enum": [term for f in fields for term in (f, f"-{f}")],
                },
            }
        ]


class KnownQueryParametersMixin:
    """Every API view refuses query parameters it does not know (400 naming each), as
    serializers refuse unknown body fields: a misspelt filter must not silently return
    everything. A list knows its filters, ``ordering`` and pagination; a view names
    any others in ``query_parameters`` (names, or serializers whose fields they are)."""

    query_parameters: tuple = ()
    _known_cache: dict = {}

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404 as unknown:
            # DRF answers an unknown ?format= with a 404, which reads as "no such object".
            raise exceptions.ValidationError(
                {api_settings.URL_FORMAT_OVERRIDE: ["json is the only format"]}
            ) from unknown

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if getattr(self, "swagger_fake_view", False):
            return
        if request.method.lower() not in self.http_method_names or not hasattr(
            self, request.method.lower()
        ):
            return  # DRF answers 405 next; the parameters do not matter
        known = self.known_query_parameters()
        unknown = sorted(name for name in request.query_params if name not in known)
        if unknown:
            raise exceptions.ValidationError(
                {name: ["unknown query parameter for this route"] for name in unknown}
            )

    def known_query_parameters(self) -> set[str]:
        action = getattr(self, "action", None)
        key = (type(self), action)
        if key not in self._known_cache:
            known = {api_settings.URL_FORMAT_OVERRIDE}  # ?format=json, DRF's own switch
            for item in self.query_parameters:
                known |= set(item().fields) if isinstance(item, type) else {item}
            if action == "list":
                for backend in getattr(self, "filter_backends", ()):
                    if hasattr(backend, "known_query_parameters"):
                        known |= backend().known_query_parameters(self)
                paginator = getattr(self, "paginator", None)
                if paginator is not None:
                    # limit and offset, page and page_size: whatever the paginator reads.
                    known |= {
                        getattr(paginator, name)
                        for name in dir(paginator)
                        if name.endswith("_query_param") and getattr(paginator, name)
                    }
            self._known_cache[key] = frozenset(known)
        return self._known_cache[key]
