from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import Agency, AgencyDomain, SiteImage, SiteSettings


class AgencyDomainInline(admin.TabularInline):
    model = AgencyDomain
    extra = 0


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "slug", "domains__host"]
    inlines = [AgencyDomainInline]
    actions = ["suspend", "activate"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            services.agency_setup(agency=obj)

    def _set_status(self, request, queryset, status):
        for agency in queryset:
            services.agency_set_status(agency=agency, status=status)
        count = len(queryset)
        self.message_user(
            request, ngettext("%d agency updated.", "%d agencies updated.", count) % count, messages.SUCCESS
        )

    @admin.action(description=_("Suspend the selected agencies"))
    def suspend(self, request, queryset):
        self._set_status(request, queryset, Agency.Status.SUSPENDED)

    @admin.action(description=_("Activate the selected agencies"))
    def activate(self, request, queryset):
        self._set_status(request, queryset, Agency.Status.ACTIVE)


@admin.register(SiteSettings)
class SiteSettingsAdmin(admin.ModelAdmin):
    """Read-mostly: agencies edit their site in the back office; support looks here."""

    list_display = ["site_name", "agency", "phone", "updated_at"]
    list_filter = ["agency"]
    search_fields = ["site_name", "agency__name", "agency__slug"]
    # "about" is shown unescaped on the public site: only the agency's own form sanitises it.
    readonly_fields = ["agency", "about", "updated_at"]

    def has_add_permission(self, request):
        return False


@admin.register(SiteImage)
class SiteImageAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "agency", "position", "created_at"]
    list_filter = ["agency", "kind"]
    readonly_fields = ["agency"]

    def has_add_permission(self, request):
        return False
