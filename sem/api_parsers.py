"""The API's JSON parser. Its own module: DRF reads DEFAULT_PARSER_CLASSES while
``rest_framework.views`` loads, which ``sem.api`` imports."""

from rest_framework import exceptions
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32


def _unsafe_json(data) -> str | None:
    """Why parsed JSON cannot go further (too deep, a lone surrogate), or None. Iterative:
    the check itself must not recurse on what it guards against."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"nested deeper than {MAX_JSON_DEPTH} levels"
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    stack.append((key, depth))
                stack.append((item, depth + 1))
        elif isinstance(value, str) and any("\ud800" <= c <= "\udfff" for c in value):
            # "\ud800" alone is valid JSON but no text: it cannot be stored or sent back.
            return "a string holds a lone UTF-16 surrogate"
    return None


class DepthLimitedJSONParser(JSONParser):
    """JSON bodies, refused (400) when nested deeper than MAX_JSON_DEPTH: Python's parser
    recurses, and 100,000 brackets would otherwise end in a RecursionError (a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as deep:
            raise exceptions.ParseError(
                f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels"
            ) from deep
        unsafe = _unsafe_json(data)
        if unsafe:
            raise exceptions.ParseError(f"JSON parse error - {unsafe}")
        return data
