from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_scopes.forms import SafeModelChoiceField

from .models import Role, User
from .permissions import ACTIONS, MODULES, SPECIAL, codename


class StaffLoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Account"),
        max_length=50,
        help_text=_("The account your agency admin gave you."),
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    error_messages = {
        "invalid_login": _("The account or password is wrong. Check both and try again."),
        "inactive": _("This account has been disabled. Ask your agency admin."),
    }


class RoleChoiceField(SafeModelChoiceField):
    def label_from_instance(self, obj):
        return f"{'— ' * obj.level}{obj.name}"


class RoleForm(forms.Form):
    name = forms.CharField(label=_("Role name"), max_length=50, help_text=_("For example: Presale team A."))
    parent = RoleChoiceField(
        queryset=Role.objects.none(), label=_("Under"), help_text=_("The role this one reports to.")
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)

    def __init__(self, *args, parents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parents


class PermissionMatrixForm(forms.Form):
    """Module × action checkboxes plus the special permissions (F-B2)."""

    def __init__(self, *args, grantable: set[str], initial_codenames: set[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.grantable = grantable
        self.rows = []
        for module, (label, actions) in MODULES.items():
            cells = []
            for action in ACTIONS:
                if action not in actions:
                    cells.append(None)
                    continue
                cells.append(self._add(codename(module, action), f"{label} · {ACTIONS[action]}", initial_codenames))
            self.rows.append((label, cells))
        self.special = [self._add(name, label, initial_codenames) for name, label in SPECIAL.items()]

    def _add(self, name, label, initial_codenames):
        self.fields[name] = forms.BooleanField(
            label=label, required=False, initial=name in initial_codenames, disabled=name not in self.grantable
        )
        return self[name]

    def selected_codenames(self) -> set[str]:
        return {name for name, value in self.cleaned_data.items() if value}


class StaffProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = [
            "name", "role", "phone", "email", "wechat", "qq", "seniority_years", "motto", "bio", "avatar",
            "show_in_showcase",
        ]  # fmt: skip
        field_classes = {"role": RoleChoiceField}
        widgets = {"bio": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, roles, **kwargs):
        super().__init__(*args, **kwargs)
        if roles is None:
            del self.fields["role"]  # editing oneself: the role is not one's own to change
        else:
            self.fields["role"].queryset = roles
            self.fields["role"].required = True
        self.fields["name"].required = True


class StaffCreateForm(StaffProfileForm):
    username = forms.CharField(
        label=_("Account"), max_length=50, help_text=_("Used to log in; cannot be changed later.")
    )
    password1 = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput, help_text=password_validators_help_text_html()
    )
    password2 = forms.CharField(label=_("Password again"), strip=False, widget=forms.PasswordInput)

    field_order = ["username", "password1", "password2", "name", "role"]

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        User.username.field.run_validators(username)
        return username

    def clean(self):
        cleaned_data = super().clean()
        password1, password2 = cleaned_data.get("password1"), cleaned_data.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("The two passwords differ. Type the same password twice."))
        elif password1:
            try:
                validate_password(
                    password1, User(username=cleaned_data.get("username", ""), name=cleaned_data.get("name", ""))
                )
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned_data


class StaffPasswordForm(forms.Form):
    password1 = forms.CharField(
        label=_("New password"), strip=False, widget=forms.PasswordInput, help_text=password_validators_help_text_html()
    )
    password2 = forms.CharField(label=_("New password again"), strip=False, widget=forms.PasswordInput)

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("password1") != cleaned_data.get("password2"):
            self.add_error("password2", _("The two passwords differ. Type the same password twice."))
        return cleaned_data


class StaffDeactivateForm(forms.Form):
    hand_over_to = forms.ModelChoiceField(
        queryset=User.objects.none(),
        label=_("Hand their records over to"),
        required=False,
        help_text=_("Everyone they own (members as presale or after-sale matchmaker) moves to this colleague."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hand_over_to"].queryset = candidates
