from . import stepup


def step_up(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"step_up_seconds_left": stepup.remaining_seconds(request)}
