from django.core.management.base import BaseCommand, CommandError

from teams.models import User
from teams.services import api_token_create


class Command(BaseCommand):
    help = "Create a personal API token for a person and print it (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", default="command line")

    def handle(self, *args, email, name, **options):
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"no person with email {email}")
        _, secret = api_token_create(user=user, name=name)
        self.stdout.write(secret)
