"""The API's schema class and schema hook: the OpenAPI document is the contract a
generated client is built from, so it says what the server really does.

- Conditional headers where ``sem.api`` evaluates them: ``If-Match`` (and
  ``If-None-Match``) on every write that declares a 412, ``If-None-Match`` with a 304 on
  every read of a versioned object, and ``ETag`` as a response header wherever one is sent.
- Shapes: a list operation of a plain ``ViewSet`` answers what its serializer says (the
  metrics report is one object); every field a response always holds is required.
- Descriptions for the API's users only: operations take theirs from ``@extend_schema``,
  schemas from their serializer's own docstring, never from an inherited one (a mixin's
  or a helper's notes are not for API users).

Its own module: drf-spectacular's AutoSchema loads DRF's generic views, which read
the filter backends of ``sem.api``."""

import inspect

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_override, is_list_serializer
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.generics import GenericAPIView

from sem.api import VersionedObjectMixin

IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description='The `ETag` you read, e.g. `"3"`; a list (`"2", "3"`) goes ahead when one '
    "is current; `*` goes ahead on whatever is current. Strong comparison: a weak tag "
    '(`W/"3"`) never matches. 428 without it, 412 when none matches (`current_version` '
    "says what is), 400 when malformed.",
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description='`ETag`s you hold, e.g. `"3"` or `W/"3", "4"` (weak comparison), or `*`. '
    "On a read, 304 with the `ETag` when one is current (`*`: always); on a write, 412. "
    "400 when malformed.",
)
ETAG = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    required=True,
    response=[200, 201, 304],
    description='The object\'s current version as an entity tag, e.g. `"3"`: send it in '
    "`If-Match` to change the object, in `If-None-Match` to read it only when it changed.",
)
NOT_MODIFIED = "Not modified: `If-None-Match` names the current `ETag` (sent again)."


def _status_codes(responses) -> set[int]:
    if not isinstance(responses, dict):
        return set()
    return {key[0] if isinstance(key, tuple) else int(key) for key in responses}


def own_doc(cls) -> str:
    """The docstring ``cls`` declares itself, or "" (``inspect.getdoc`` would inherit)."""
    doc = cls.__dict__.get("__doc__")
    return inspect.cleandoc(doc) if doc else ""


class ApiSchema(AutoSchema):
    """Conditional headers, ETags, shapes and descriptions as the server has them."""

    def _versioned(self) -> bool:
        return isinstance(self.view, VersionedObjectMixin)

    def _conditional_write(self) -> bool:
        # self.get_response_serializers(): @extend_schema's subclass holds the declared ones.
        return self.method != "GET" and 412 in _status_codes(self.get_response_serializers())

    def _conditional_read(self) -> bool:
        return (
            self.method == "GET"
            and self._versioned()
            and getattr(self.view, "action", None) == "retrieve"
        )

    def _sends_etag(self) -> bool:
        """Every single-object answer of a versioned object carries its ETag."""
        return self._versioned() and (
            self._conditional_read()
            or self._conditional_write()
            or getattr(self.view, "action", None) == "create"
        )

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._conditional_write():
            parameters += [IF_MATCH, IF_NONE_MATCH]
        if self._conditional_read():
            parameters.append(IF_NONE_MATCH)
        if self._sends_etag():
            parameters.append(ETAG)
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if self._conditional_read():
            responses["304"] = {
                "description": NOT_MODIFIED,
                "headers": self._get_response_headers_for_code("304", direction),
            }
        return responses

    def _is_list_view(self, serializer=None) -> bool:
        # A plain ViewSet's list (the metrics report) answers one object unless its
        # serializer says many; generic lists are lists (and paginated).
        if not isinstance(self.view, GenericAPIView):
            if serializer is None:
                serializer = self.get_response_serializers()
            if isinstance(serializer, dict) and serializer:
                serializer = {str(code): s for code, s in serializer.items()}
                serializer = serializer[min(serializer)]
            return is_list_serializer(serializer)
        return super()._is_list_view(serializer)

    def get_description(self) -> str:
        # Only @extend_schema(description=…) describes an operation: a view's or an
        # action's docstring is for the project's developers.
        return ""

    def _map_basic_serializer(self, serializer, direction):
        result = super()._map_basic_serializer(serializer, direction)
        serializer = serializer if not inspect.isclass(serializer) else serializer()
        description = get_override(serializer, "description", own_doc(type(serializer)))
        if description:
            result["description"] = description
        else:
            result.pop("description", None)
        if direction == "response":
            # DRF writes every readable field of a model into each answer; a plain
            # serializer's field is optional only where it says required=False.
            always = isinstance(serializer, serializers.ModelSerializer)
            required = [
                name
                for name, field in serializer.fields.items()
                if name in result.get("properties", {})
                and (always or field.required or field.read_only)
            ]
            if required:
                result["required"] = required
        return result


def describe_components(result, generator, request, public):
    """Schema hook: the components drf-spectacular builds itself get a description too."""
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name == "NullEnum" and not schema.get("description"):
            schema["description"] = "No value (null)."
    return result
