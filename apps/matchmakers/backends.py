from django.contrib.auth.backends import ModelBackend

from apps.agencies.context import current_agency

from .models import User
from .services import role_permission_names


class AgencyBackend(ModelBackend):
    """Log in within the agency being served; permissions come from the user's role.

    A session is only honoured on the agency it was opened on, so a cookie that travels to another
    agency's address (same host, another /a/<slug>/ prefix) is an anonymous visitor there.
    Agency staff get exactly their role's module permissions (cached per role version); platform
    operators keep Django's own user and group permissions for the admin.
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
        user = User.objects.select_related("role").filter(pk=user_id, agency=current_agency()).first()
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_user_permissions(self, user_obj, obj=None):
        if getattr(user_obj, "agency_id", None) is not None:
            return set()  # staff permissions hang on roles only
        return super().get_user_permissions(user_obj, obj)

    def get_group_permissions(self, user_obj, obj=None):
        if getattr(user_obj, "agency_id", None) is None:
            return super().get_group_permissions(user_obj, obj)
        if obj is not None or not user_obj.is_active or user_obj.role_id is None:
            return set()
        if not hasattr(user_obj, "_role_perm_cache"):
            user_obj._role_perm_cache = role_permission_names(user_obj.role)
        return user_obj._role_perm_cache


def lockout_username(request, credentials) -> str | None:
    """The account django-axes counts failures against: user names are unique per agency only."""
    username = (credentials or {}).get("username") or (request.POST.get("username") if request else None)
    if not username:
        return None
    agency = getattr(request, "agency", None)
    return f"{agency.slug if agency else 'platform'}:{username}"
