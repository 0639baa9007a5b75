"""People and structure of a Flow Team.

The caps the method sets (3-15 Scrum Teams, at most 150 people) are held by the
database through numbered seats: a Scrum Team's ``number`` and a member's
``seat`` are unique within the Flow Team and checked to lie in 1..15 and
1..150, so a 16th team or a 151st person cannot be stored, whatever code path
tries. Services pick the next free number and turn a refusal into a message.
"""

import zoneinfo

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

MAX_SCRUM_TEAMS = 15
MIN_SCRUM_TEAMS = 3
MAX_MEMBERS = 150

TIMEZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]


def timezone_choices():
    """The host's IANA zones. A callable, so migrations name it instead of copying the list."""
    return TIMEZONE_CHOICES


def validate_timezone(value: str) -> None:
    """An IANA timezone name the host knows (a Flow Team's days are its days)."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"unknown timezone {value!r}", code="invalid_timezone")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person; signs in with their email address."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    # Staff may open the admin; what they see there is scoped by their roles.
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.full_name or self.email

    @property
    def display_name(self):
        return self.full_name or self.email.split("@")[0]

    @property
    def initials(self):
        parts = (self.full_name or self.email).replace("@", " ").split()
        return "".join(p[0] for p in parts[:2]).upper()


class Weekday(models.IntegerChoices):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


class FlowTeam(models.Model):
    """A product or service delivered by 3-15 Scrum Teams in synchronized Flow Sprints."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    sprint_length_weeks = models.PositiveSmallIntegerField(
        default=2, choices=[(2, "2 weeks"), (3, "3 weeks"), (4, "4 weeks")]
    )
    cadence_anchor = models.DateField(help_text="Start date of the first Flow Sprint.")
    # Every form (the admin's included) and every service check it against zoneinfo.
    timezone = models.CharField(
        max_length=64, default="UTC", choices=timezone_choices, validators=[validate_timezone]
    )
    # Bit n set = weekday n (Monday = 0) is a working day. Default Mon-Fri.
    working_days_mask = models.PositiveSmallIntegerField(default=0b0011111)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sprint_length_weeks__in=[2, 3, 4]), name="flowteam_sprint_length_2_4"
            ),
            models.CheckConstraint(
                condition=Q(working_days_mask__gte=1, working_days_mask__lte=127),
                name="flowteam_working_days_not_empty",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def tzinfo(self):
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def working_weekdays(self) -> list[int]:
        return [d for d in range(7) if self.working_days_mask & (1 << d)]

    def is_working_day(self, day) -> bool:
        return bool(self.working_days_mask & (1 << day.weekday()))

    def today(self):
        return timezone.localtime(timezone.now(), self.tzinfo).date()


class ScrumTeam(models.Model):
    """An execution unit of a Flow Team; numbered 1..15 within it."""

    flow_team = models.ForeignKey(FlowTeam, on_delete=models.CASCADE, related_name="scrum_teams")
    number = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["flow_team", "number"]
        constraints = [
            models.UniqueConstraint(fields=["flow_team", "number"], name="scrumteam_number_unique"),
            models.UniqueConstraint(fields=["flow_team", "name"], name="scrumteam_name_unique"),
            models.CheckConstraint(
                condition=Q(number__gte=1, number__lte=MAX_SCRUM_TEAMS),
                name="scrumteam_at_most_15_per_flow_team",
            ),
        ]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A person in a Flow Team, holding a numbered seat (at most 150 seats)."""

    flow_team = models.ForeignKey(FlowTeam, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    seat = models.PositiveSmallIntegerField()
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["flow_team", "seat"]
        constraints = [
            models.UniqueConstraint(fields=["flow_team", "user"], name="membership_user_once"),
            models.UniqueConstraint(fields=["flow_team", "seat"], name="membership_seat_unique"),
            models.CheckConstraint(
                condition=Q(seat__gte=1, seat__lte=MAX_MEMBERS),
                name="membership_at_most_150_per_flow_team",
            ),
        ]

    def __str__(self):
        return f"{self.user} in {self.flow_team}"


class Role(models.TextChoices):
    CPO = "cpo", "Chief Product Owner"
    CSM = "csm", "Chief Scrum Master"
    ARCHITECT = "architect", "Architect"
    PO = "po", "Product Owner"
    SM = "sm", "Scrum Master"
    DEVELOPER = "developer", "Developer"
    STAKEHOLDER = "stakeholder", "Stakeholder"


FLOW_ROLES = {Role.CPO, Role.CSM, Role.ARCHITECT, Role.STAKEHOLDER}
TEAM_ROLES = {Role.PO, Role.SM, Role.DEVELOPER}


class RoleAssignment(models.Model):
    """One role a member holds. Team roles name their Scrum Team; Flow roles do not.

    A person may hold several (a PO who is also the Architect).
    """

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="roles")
    # Denormalized from membership so the database can hold "one CPO per Flow Team".
    flow_team = models.ForeignKey(
        FlowTeam, on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    scrum_team = models.ForeignKey(
        ScrumTeam, on_delete=models.CASCADE, null=True, blank=True, related_name="role_assignments"
    )

    class Meta:
        ordering = ["flow_team", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["flow_team"], condition=Q(role="cpo"), name="one_cpo_per_flow_team"
            ),
            models.UniqueConstraint(
                fields=["flow_team"], condition=Q(role="csm"), name="one_csm_per_flow_team"
            ),
            models.UniqueConstraint(
                fields=["scrum_team"], condition=Q(role="po"), name="one_po_per_scrum_team"
            ),
            models.UniqueConstraint(
                fields=["scrum_team"], condition=Q(role="sm"), name="one_sm_per_scrum_team"
            ),
            models.UniqueConstraint(
                fields=["membership", "role"],
                condition=Q(scrum_team__isnull=True),
                name="flow_role_once_per_member",
            ),
            models.UniqueConstraint(
                fields=["membership", "role", "scrum_team"], name="team_role_once_per_member"
            ),
            models.CheckConstraint(
                condition=(
                    Q(role__in=["po", "sm", "developer"], scrum_team__isnull=False)
                    | Q(
                        role__in=["cpo", "csm", "architect", "stakeholder"], scrum_team__isnull=True
                    )
                ),
                name="team_roles_name_their_scrum_team",
            ),
        ]

    def __str__(self):
        where = f" of {self.scrum_team}" if self.scrum_team_id else ""
        return f"{self.get_role_display()}{where}"


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the secret is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    # First characters of the secret, to tell tokens apart in lists.
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user", "-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class WebhookEndpoint(models.Model):
    """An HTTPS URL of a Flow Team's that receives signed story, epic and dependency changes.

    The secret is kept readable: each delivery is signed with it (HMAC-SHA256).
    """

    class EventType(models.TextChoices):
        STORY = "story", "Story changes"
        EPIC = "epic", "Epic changes"
        DEPENDENCY = "dependency", "Dependency changes"

    flow_team = models.ForeignKey(FlowTeam, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=64)
    # Families of events ("story", "epic", "dependency") this endpoint receives.
    event_types = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["flow_team", "created_at"]

    def __str__(self):
        return self.url


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one endpoint, with its outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["endpoint", "-created_at"])]

    def __str__(self):
        return f"{self.event} to {self.endpoint} ({self.status})"
