from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.core.forms import apply_service_errors
from apps.core.middleware import IDLE_ENDED

from . import services
from .decorators import staff_permission_required
from .forms import (
    PermissionMatrixForm,
    RoleForm,
    StaffCreateForm,
    StaffDeactivateForm,
    StaffLoginForm,
    StaffPasswordForm,
    StaffProfileForm,
)
from .models import StaffHandover, User
from .permissions import all_codenames
from .selectors import role_tree, roles_as_parent, roles_assignable, roles_below, staff_below, staff_list


class StaffLoginView(auth_views.LoginView):
    template_name = "matchmakers/login.html"
    form_class = StaffLoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        # Said once, on the log-in page the idle expiry sent them to (apps.core.middleware).
        return super().get_context_data(**kwargs, idle_ended=self.request.session.pop(IDLE_ENDED, False))


class StaffLogoutView(auth_views.LogoutView):
    pass


class StaffPasswordChangeView(auth_views.PasswordChangeView):
    template_name = "matchmakers/password_change.html"
    success_url = reverse_lazy("reports:workbench")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, gettext_lazy("Your password has been changed."))
        return response


# --- roles ------------------------------------------------------------------------------------------


@staff_permission_required("matchmakers.view_staff")
def role_list(request):
    managed_ids = set(roles_below(user=request.user).values_list("pk", flat=True))
    form = RoleForm(parents=roles_as_parent(user=request.user), initial={"parent": request.user.role_id})
    context = {"roles": role_tree(agency=request.agency), "managed_ids": managed_ids, "form": form}
    return render(request, "matchmakers/role_list.html", context)


@require_POST
@staff_permission_required("matchmakers.add_staff")
def role_create(request):
    form = RoleForm(request.POST, parents=roles_as_parent(user=request.user))
    if form.is_valid():
        try:
            role = services.role_create(agency=request.agency, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request, _("Role “%(role)s” has been created. Now choose what it may do.") % {"role": role}
            )
            return redirect("matchmakers:role_permissions", pk=role.pk)
    messages.error(request, _("No role was created. Please correct the fields marked below."))
    managed_ids = set(roles_below(user=request.user).values_list("pk", flat=True))
    context = {"roles": role_tree(agency=request.agency), "managed_ids": managed_ids, "form": form}
    return render(request, "matchmakers/role_list.html", context, status=400)


def _managed_role_or_404(request, pk):
    role = roles_below(user=request.user).filter(pk=pk).first()
    if role is None:
        raise Http404
    return role


@staff_permission_required("matchmakers.edit_staff")
def role_edit(request, pk):
    role = _managed_role_or_404(request, pk)
    parents = roles_as_parent(user=request.user).exclude(tree_id=role.tree_id, lft__gte=role.lft, rght__lte=role.rght)
    initial = {"name": role.name, "parent": role.parent_id, "description": role.description}
    form = RoleForm(request.POST or None, parents=parents, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.role_update(agency=request.agency, actor=request.user, role=role, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The role has been saved."))
            return redirect("matchmakers:role_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "matchmakers/role_form.html", {"form": form, "role": role}, status=status)


@require_POST
@staff_permission_required("matchmakers.delete_staff")
def role_delete(request, pk):
    role = _managed_role_or_404(request, pk)
    try:
        services.role_delete(agency=request.agency, actor=request.user, role=role)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Role “%(role)s” has been deleted.") % {"role": role.name})
    return redirect("matchmakers:role_list")


@staff_permission_required("matchmakers.edit_staff")
def role_permissions(request, pk):
    role = _managed_role_or_404(request, pk)
    current = set(role.group.permissions.values_list("codename", flat=True))
    grantable = {name for name in all_codenames() if request.user.has_perm(f"matchmakers.{name}")}
    form = PermissionMatrixForm(request.POST or None, grantable=grantable, initial_codenames=current)
    if request.method == "POST" and form.is_valid():
        # Disabled boxes (permissions the actor lacks) keep the role's current value.
        codenames = (form.selected_codenames() & grantable) | (current - grantable)
        try:
            services.role_set_permissions(agency=request.agency, actor=request.user, role=role, codenames=codenames)
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        else:
            messages.success(request, _("The permissions of “%(role)s” have been saved.") % {"role": role})
            return redirect("matchmakers:role_list")
    return render(request, "matchmakers/role_permissions.html", {"form": form, "role": role})


# --- staff ------------------------------------------------------------------------------------------


@staff_permission_required("matchmakers.view_staff")
def staff_list_view(request):
    team = staff_list(user=request.user)
    managed_ids = set(staff_below(user=request.user).values_list("pk", flat=True))
    handovers = StaffHandover.objects.filter(from_user__in=team).select_related(
        "from_user", "to_user", "handed_over_by"
    )[:10]
    context = {"team": team, "managed_ids": managed_ids, "handovers": handovers}
    return render(request, "matchmakers/staff_list.html", context)


@staff_permission_required("matchmakers.add_staff")
def staff_create(request):
    form = StaffCreateForm(request.POST or None, request.FILES or None, roles=roles_assignable(user=request.user))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        password = data.pop("password1")
        data.pop("password2")
        try:
            user = services.staff_create(agency=request.agency, actor=request.user, password=password, **data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request, _("%(name)s can now log in as “%(username)s”.") % {"name": user, "username": user.username}
            )
            return redirect("matchmakers:staff_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "matchmakers/staff_form.html", {"form": form}, status=status)


def _editable_staff_or_404(request, pk):
    if pk == request.user.pk:
        return request.user
    user = staff_below(user=request.user).filter(pk=pk).first()
    if user is None:
        raise Http404
    return user


@login_required
def staff_edit(request, pk):
    """Everyone edits their own profile; editing someone else needs the staff edit permission."""
    editing_self = pk == request.user.pk
    if not editing_self and not request.user.has_perms(["matchmakers.view_staff", "matchmakers.edit_staff"]):
        raise PermissionDenied
    target = _editable_staff_or_404(request, pk)
    roles = None if editing_self else roles_assignable(user=request.user)
    form = StaffProfileForm(request.POST or None, request.FILES or None, instance=target, roles=roles)
    if request.method == "POST" and form.is_valid():
        try:
            services.staff_update(agency=request.agency, actor=request.user, user=target, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The profile of %(name)s has been saved.") % {"name": target})
            return redirect("matchmakers:staff_list")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "target": target, "editing_self": editing_self,
               "record_counts": services.staff_owned_record_counts(user=target)}  # fmt: skip
    return render(request, "matchmakers/staff_edit.html", context, status=status)


@staff_permission_required("matchmakers.edit_staff")
def staff_password(request, pk):
    target = staff_below(user=request.user).filter(pk=pk).first()
    if target is None:
        raise Http404
    form = StaffPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.staff_set_password(
                agency=request.agency, actor=request.user, user=target, password=form.cleaned_data["password1"]
            )
        except ValidationError as error:
            form.add_error("password1", error)
        else:
            messages.success(request, _("The password of %(name)s has been reset.") % {"name": target})
            return redirect("matchmakers:staff_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "matchmakers/staff_password.html", {"form": form, "target": target}, status=status)


@staff_permission_required("matchmakers.edit_staff")
def staff_deactivate(request, pk):
    target = staff_below(user=request.user).filter(pk=pk).first()
    if target is None:
        raise Http404
    candidates = (
        (staff_below(user=request.user) | User.objects.filter(pk=request.user.pk))
        .filter(is_active=True)
        .exclude(pk=target.pk)
    )
    form = StaffDeactivateForm(request.POST or None, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        try:
            services.staff_set_active(
                agency=request.agency, actor=request.user, user=target, active=False,
                hand_over_to=form.cleaned_data["hand_over_to"], reason=form.cleaned_data["reason"],
            )  # fmt: skip
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("%(name)s has been deactivated.") % {"name": target})
            return redirect("matchmakers:staff_list")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "target": target, "record_counts": services.staff_owned_record_counts(user=target)}
    return render(request, "matchmakers/staff_deactivate.html", context, status=status)


@require_POST
@staff_permission_required("matchmakers.edit_staff")
def staff_activate(request, pk):
    target = staff_below(user=request.user).filter(pk=pk).first()
    if target is None:
        raise Http404
    services.staff_set_active(agency=request.agency, actor=request.user, user=target, active=True)
    messages.success(request, _("%(name)s can log in again.") % {"name": target})
    return redirect("matchmakers:staff_list")
