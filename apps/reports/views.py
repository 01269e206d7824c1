from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from apps.finance import selectors as finance_selectors


@login_required
def workbench(request):
    """Where staff land after logging in; later issues add their blocks (follow-ups, audits, …)."""
    return render(request, "reports/workbench.html", {"finance": finance_selectors.finance_todo(user=request.user)})
