"""Domain errors raised by services; views, API and admin turn them into messages.

A rule that fails names the field it concerns and the reason, so a person (or a
script) can fix the input. Nothing is written when one is raised: services run
in a transaction.
"""

from django.core.exceptions import ValidationError


class RuleViolation(ValidationError):
    """A business rule refused the change. ``field`` says which input it concerns: every
    refusal names one."""

    def __init__(self, message: str, *, field: str):
        super().__init__({field: [message]})

    @property
    def detail(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.message_dict.items()}


class NotFound(Exception):
    """The object does not exist for this actor (another Flow Team's data looks like this)."""


class VersionConflict(Exception):
    """The object changed since the client read it (stale If-Match)."""

    def __init__(self, current_version: int, message: str | None = None):
        self.current_version = current_version
        super().__init__(
            message or f"the object changed meanwhile; its current version is {current_version}"
        )


class PermissionRefused(Exception):
    """The actor sees the object but may not make this change (403)."""
