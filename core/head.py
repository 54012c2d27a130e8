"""HEAD requests get the headers of GET and no body (RFC 9110). Django renders the body anyway;
gunicorn then drops it with a warning in the log for every HEAD request, so it is dropped here,
with the length GET would have."""


class HeadWithoutBodyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method == "HEAD":
            if response.streaming:
                response.streaming_content = []
            else:
                response.headers.setdefault("Content-Length", str(len(response.content)))
                response.content = b""
        return response
