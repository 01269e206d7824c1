from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from apps.core.validators import normalize_mobile
from apps.matchmakers.models import User

from . import choices, divisions
from .models import FamilyMember, Member, MemberAttachment, MemberPhoto, PartnerPreference, Tag
from .selectors import tag_choices

EMPTY = [("", "---------")]


class TagIdsField(forms.TypedMultipleChoiceField):
    def __init__(self, **kwargs):
        super().__init__(coerce=int, required=False, widget=forms.CheckboxSelectMultiple, **kwargs)


def _cascade_attrs(level: str, target: str) -> dict:
    """htmx refreshes the next select's options when this one changes (province → city → district)."""
    return {
        "hx-get": f"{reverse_lazy('members:division_options')}?level={level}",
        "hx-target": f"#id_{target}",
        "hx-trigger": "change",
    }


class DivisionChoiceField(forms.ChoiceField):
    """Offers the children of the chosen parent but accepts any real code of its level, so a city of
    another province reaches the service's cascade check and its message naming both places."""

    def __init__(self, *, is_valid_code, **kwargs):
        self.is_valid_code = is_valid_code
        super().__init__(required=False, **kwargs)

    def valid_value(self, value):
        return self.is_valid_code(value) or super().valid_value(value)


CONTACT_FIELDS = ("phone", "wechat", "id_number")


class MemberForm(forms.ModelForm):
    """The profile of F-C1 with its cascading location selects; the service validates the cascade."""

    tag_ids = TagIdsField(label=_("Tags"))
    # Wider than the stored 11 digits: people type "138 0013 8000" or "+86 …"; clean_phone normalises.
    phone = forms.CharField(label=_("Mobile phone"), max_length=20, help_text=_("11-digit mobile number."))

    class Meta:
        model = Member
        fields = [
            "name", "gender", "birth_date", "phone", "wechat", "email", "id_number",
            "height_cm", "weight_kg", "education", "occupation", "industry", "income",
            "marital_status", "children", "housing", "has_car", "ethnicity", "smoking", "drinking",
            "residence_province", "residence_city", "residence_district", "native_province", "native_city",
            "self_intro", "past_relationships", "tag_ids", "status", "service_status", "published",
        ]  # fmt: skip
        widgets = {
            "birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "self_intro": forms.Textarea(attrs={"rows": 3}),
            "past_relationships": forms.Textarea(attrs={"rows": 2}),
            "has_car": forms.NullBooleanSelect,
        }

    def __init__(self, *args, agency, reveal_contacts: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag_ids"].choices = tag_choices(agency=agency)
        if self.instance.pk and not reveal_contacts:
            # Editing must not show what the role may not reveal; the stored values stay as they are.
            for field in CONTACT_FIELDS:
                del self.fields[field]
        data = self.data if self.is_bound else {}
        instance = self.instance

        def current(field):
            return data.get(field, getattr(instance, field, "")) or ""

        province_choices = EMPTY + divisions.provinces()
        for prefix in ("residence_", "native_"):
            self.fields[f"{prefix}province"] = forms.ChoiceField(
                label=self.fields[f"{prefix}province"].label, choices=province_choices, required=False,
                widget=forms.Select(attrs=_cascade_attrs("city", f"{prefix}city")),
            )  # fmt: skip
            city_attrs = _cascade_attrs("district", "residence_district") if prefix == "residence_" else {}
            self.fields[f"{prefix}city"] = DivisionChoiceField(
                label=self.fields[f"{prefix}city"].label, is_valid_code=divisions.is_city,
                choices=EMPTY + divisions.cities(current(f"{prefix}province")),
                widget=forms.Select(attrs=city_attrs),
            )  # fmt: skip
        self.fields["residence_district"] = DivisionChoiceField(
            label=self.fields["residence_district"].label, is_valid_code=divisions.is_district,
            choices=EMPTY + divisions.districts(current("residence_city")),
        )  # fmt: skip

    def clean_phone(self):
        return normalize_mobile(self.cleaned_data["phone"])

    def validate_unique(self):
        pass  # the phone must be unique in the agency: the service checks it with the user's visibility


class PreferenceForm(forms.ModelForm):
    must_tag_ids = TagIdsField(label=_("Must-have tags"))
    nice_tag_ids = TagIdsField(label=_("Nice-to-have tags"))
    marital_statuses = forms.MultipleChoiceField(
        label=_("Accepted marital statuses"), required=False, choices=choices.MaritalStatus.choices,
        widget=forms.CheckboxSelectMultiple, help_text=_("Leave empty to accept any."),
    )  # fmt: skip
    city_codes = forms.MultipleChoiceField(
        label=_("Cities"), required=False, choices=divisions.city_choices_grouped,
        help_text=_("Where the partner should live; leave empty for anywhere."),
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )  # fmt: skip

    class Meta:
        model = PartnerPreference
        fields = [
            "age_min", "age_max", "height_min", "height_max", "education_min", "income_min",
            "marital_statuses", "city_codes", "accepts_children", "must_tag_ids", "nice_tag_ids", "notes",
        ]  # fmt: skip
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, agency, **kwargs):
        super().__init__(*args, prefix="pref", **kwargs)
        tags = tag_choices(agency=agency)
        self.fields["must_tag_ids"].choices = tags
        self.fields["nice_tag_ids"].choices = tags

    def clean(self):
        cleaned_data = super().clean()
        for low, high, message in [
            ("age_min", "age_max", _("The lowest age must not be above the highest.")),
            ("height_min", "height_max", _("The lowest height must not be above the highest.")),
        ]:
            if cleaned_data.get(low) and cleaned_data.get(high) and cleaned_data[low] > cleaned_data[high]:
                self.add_error(high, message)
        return cleaned_data


class MemberShareForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.none(), label=_("Colleague"), help_text=_("They will see and edit this member.")
    )

    def __init__(self, *args, agency, exclude_user_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = (
            User.objects.filter(agency=agency, is_active=True).exclude(pk__in=exclude_user_ids).order_by("name")
        )


class PhotoForm(forms.ModelForm):
    class Meta:
        model = MemberPhoto
        fields = ["image", "caption", "is_primary"]


ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


class AttachmentForm(forms.ModelForm):
    class Meta:
        model = MemberAttachment
        fields = ["kind", "file"]
        help_texts = {
            "file": _("PDF, JPEG, PNG or WebP, at most 10 MB. Only staff who may see the member can open it.")
        }

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > ATTACHMENT_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 10 MB. Please upload a smaller scan."))
        head = upload.read(16)
        upload.seek(0)
        if not (head.startswith(b"%PDF-") or head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG")
                or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")):  # fmt: skip
            raise forms.ValidationError(_("Only PDF, JPEG, PNG or WebP files can be stored."))
        return upload


class FamilyMemberForm(forms.ModelForm):
    class Meta:
        model = FamilyMember
        fields = ["relation", "name", "birth_year", "occupation", "note"]


class TagForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ["name", "kind"]
