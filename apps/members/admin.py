from django.contrib import admin

from .models import Member


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    """Read-only support view; members are managed in each agency's back office."""

    list_display = ["member_no", "name", "agency", "status", "presale_owner", "aftersale_owner", "created_at"]
    list_filter = ["agency", "status", "source"]
    list_select_related = ["agency", "presale_owner", "aftersale_owner"]
    search_fields = ["member_no", "name", "agency__slug"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
