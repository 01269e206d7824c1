from django.contrib.auth.backends import ModelBackend

from apps.agencies.context import current_agency

from .models import User


class AgencyBackend(ModelBackend):
    """Log in within the agency being served; platform hosts only know platform operators.

    A session is only honoured on the agency it was opened on, so a cookie that travels to another
    agency's address (same host, another /a/<slug>/ prefix) is an anonymous visitor there.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        agency = getattr(request, "agency", None)
        user = User.objects.filter(agency=agency, username=username).first()
        if user is None:
            # Spend the time a real check would, so response timing does not reveal accounts.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id):
        user = User.objects.filter(pk=user_id, agency=current_agency()).first()
        return user if user is not None and self.user_can_authenticate(user) else None
