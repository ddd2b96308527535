from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from fibe_access.accounts.stepup import step_up_required


@login_required
@step_up_required
def endpoint_list(request):
    return render(request, "webhooks/list.html", {})
