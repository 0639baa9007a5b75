from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class LiveVersion(models.Model):
    """How often a live topic (``event:<id>``, ``register:<flow_team>`` …) has changed.

    Services bump it in the transaction that changes what a live screen shows, so
    the version and the data commit together; open screens poll it (sem/live.py).
    It lives in the database because production runs several worker processes."""

    key = models.CharField(max_length=120, primary_key=True)
    version = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(version__gte=0), name="live_version_gte_0")
        ]

    def __str__(self):
        return f"{self.key}@{self.version}"
