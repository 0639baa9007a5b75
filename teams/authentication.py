import re

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from teams.services import api_token_authenticate

TOKEN68 = re.compile(r"[A-Za-z0-9._~+/-]+=*")


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` with a personal API token."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        parts = header.split()
        if not parts:
            return None
        # The scheme is case-insensitive (RFC 9110 11.1); a token is token68 text.
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2 or len(parts[1]) > 200 or not TOKEN68.fullmatch(parts[1]):
            raise exceptions.AuthenticationFailed("send 'Authorization: Bearer <token>'")
        token = api_token_authenticate(secret=parts[1])
        if token is None:
            raise exceptions.AuthenticationFailed("unknown or revoked token")
        # The Actor came with the token (same query): views take it from the request.
        request._sem_actor = token.actor
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "teams.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token from your profile page or "
            "`python manage.py api_token EMAIL`.",
        }
