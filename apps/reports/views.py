from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import selectors


@login_required
def workbench(request):
    """Where staff land after logging in: today's work and what awaits them, each block a link (F-I1)."""
    return render(request, "reports/workbench.html", {"blocks": selectors.workbench(user=request.user)})
