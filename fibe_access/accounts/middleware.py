from .stepup import StepUpRequired, redirect_for


class StepUpMiddleware:
    """Turns a StepUpRequired raised deep in a service into the step-up redirect."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, StepUpRequired) and request.user.is_authenticated:
            return redirect_for(request)
        return None
