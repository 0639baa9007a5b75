from django.http import JsonResponse

from sem.api import PROBLEM_BASE, PROBLEM_CONTENT_TYPE, api_body_limit


class ApiBodyLimitMiddleware:
    """Refuse oversized API bodies with 413 before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limit = api_body_limit()
            if length > limit:
                return JsonResponse(
                    {
                        "type": PROBLEM_BASE + "too-large",
                        "title": "Request body too large",
                        "status": 413,
                        "detail": f"the body has {length} bytes; the limit is {limit}",
                    },
                    status=413,
                    content_type=PROBLEM_CONTENT_TYPE,
                )
        return self.get_response(request)
