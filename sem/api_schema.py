"""The API's schema class: documents the conditional headers where ``sem.api`` evaluates
them. Its own module: drf-spectacular's AutoSchema loads DRF's generic views, which read
the filter backends of ``sem.api``."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

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


def _status_codes(responses) -> set[int]:
    if not isinstance(responses, dict):
        return set()
    return {key[0] if isinstance(key, tuple) else int(key) for key in responses}


class ApiSchema(AutoSchema):
    """Documents the conditional headers where the API evaluates them: If-Match (and
    If-None-Match) on every write that declares a 412, If-None-Match with a 304 on every
    read of a versioned object."""

    def _conditional_write(self) -> bool:
        # self.get_response_serializers(): @extend_schema's subclass holds the declared ones.
        return self.method != "GET" and 412 in _status_codes(self.get_response_serializers())

    def _conditional_read(self) -> bool:
        return (
            self.method == "GET"
            and isinstance(self.view, VersionedObjectMixin)
            and getattr(self.view, "action", None) == "retrieve"
        )

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._conditional_write():
            parameters += [IF_MATCH, IF_NONE_MATCH]
        if self._conditional_read():
            parameters.append(IF_NONE_MATCH)
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if self._conditional_read() and "304" not in responses:
            responses["304"] = {"description": "Not modified: If-None-Match names the ETag."}
        return responses
