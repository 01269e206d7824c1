from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_scopes.forms import SafeModelChoiceField

from .models import Role, StaffHandover, User


class UserCreationForm(BaseUserCreationForm):
    # BaseUserCreationForm rather than UserCreationForm: the latter checks usernames across all
    # agencies, while they only need to be unique within one (the model constraint checks that).
    class Meta(BaseUserCreationForm.Meta):
        model = User
        fields = ["agency", "username", "name", "email"]


class UserEditForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"
        field_classes = {"role": SafeModelChoiceField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "role" in self.fields:
            self.fields["role"].queryset = Role.unscoped.filter(agency_id=self.instance.agency_id)

    def clean(self):
        cleaned_data = super().clean()
        # The agency is read-only here, so Django skips the constraint that mentions it; say it.
        if self.instance.agency_id and (cleaned_data.get("is_staff") or cleaned_data.get("is_superuser")):
            raise ValidationError(_("Agency staff cannot be platform operators or superusers."))
        return cleaned_data


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    list_display = ["username", "name", "agency", "is_active", "is_staff", "last_login"]
    list_filter = ["agency", "is_active", "is_staff", "is_superuser"]
    list_select_related = ["agency"]
    search_fields = ["username", "name", "email", "phone", "agency__name", "agency__slug"]
    ordering = ["agency__name", "username"]
    fieldsets = [
        (None, {"fields": ["agency", "username", "password"]}),
        (_("Personal info"), {"fields": ["name", "role", "email", "phone"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["agency", "username", "name", "email", "password1", "password2"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # The account name and its agency are fixed once created (F-B4).
        return ["agency", "username"] if obj is not None else []


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    """Support's view of role trees; agencies manage their roles in the back office."""

    list_display = ["name", "agency", "parent", "level"]
    list_filter = ["agency"]
    list_select_related = ["agency", "parent"]
    search_fields = ["name", "agency__name", "agency__slug"]
    ordering = ["agency", "tree_id", "lft"]
    readonly_fields = ["agency", "parent", "group", "permissions_token"]

    def has_add_permission(self, request):
        return False


@admin.register(StaffHandover)
class StaffHandoverAdmin(admin.ModelAdmin):
    list_display = ["created_at", "agency", "from_user", "to_user", "handed_over_by", "counts"]
    list_filter = ["agency"]
    list_select_related = ["agency", "from_user", "to_user", "handed_over_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
