"""The agency's wording of automatic messages (F-H3): settings pages, validation, preview, reset."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from apps.agencies.context import agency_context
from apps.messaging import services, templating
from apps.messaging.models import Kind, Notification, NotificationTemplate
from apps.messaging.services import notify_member
from tests.matchmakers.factories import UserFactory
from tests.messaging.test_notifications import en_client, make_member, messages_of

pytestmark = pytest.mark.django_db

EDIT = ["matchmakers.view_settings", "matchmakers.edit_settings"]
LIST_URL = "/staff/settings/message-templates/"


def edit_url(kind="birthday", channel="sms") -> str:
    return f"{LIST_URL}{kind}/{channel}/"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _sms_to_a_file(settings, tmp_path):
    settings.SMS_BACKEND = "apps.messaging.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms" / "sent.jsonl"


@pytest.fixture
def editor(agency):
    return UserFactory(agency=agency, username="settings", perms=EDIT)


@pytest.fixture
def member(agency, editor):
    return make_member(agency, editor)


def notify(agency, member, kind=Kind.BIRTHDAY, channel="sms", **values) -> Notification:
    with agency_context(agency):
        return notify_member(agency=agency, member=member, kind=kind, channel=channel, values=values)


def stored(agency) -> list[tuple[str, str, str, str]]:
    return list(NotificationTemplate.unscoped.filter(agency=agency).values_list("kind", "channel", "subject", "body"))


# The wording used ---------------------------------------------------------------------------------


def test_the_agencys_wording_is_used_and_the_default_otherwise(agency, editor, member):
    response = en_client(agency, editor).post(
        edit_url("birthday", "sms"), {"body": "{name}，{agency}祝您生日快乐！", "save": "1"}, follow=True
    )
    assert response.redirect_chain == [(LIST_URL, 302)]
    assert messages_of(response) == [
        ("success", "The wording of “Birthday greeting” by SMS is saved; new messages use it.")
    ]
    assert stored(agency) == [("birthday", "sms", "", "{name}，{agency}祝您生日快乐！")]
    assert NotificationTemplate.unscoped.get().updated_by == editor

    assert notify(agency, member).body == f"{member.name}，安和婚恋祝您生日快乐！"
    by_email = notify(agency, member, channel="email")  # that channel keeps the built-in wording
    assert by_email.subject == "Happy birthday from 安和婚恋"
    assert by_email.body == f"Happy birthday, {member.name}! Best wishes from everyone at 安和婚恋."


def test_an_email_wording_needs_a_subject_and_uses_it(agency, editor, member):
    client = en_client(agency, editor)
    response = client.post(edit_url("contract_expiry", "email"), {"subject": "", "body": "{name} {days}", "save": "1"})
    assert response.status_code == 400
    assert "An email needs a subject." in response.text
    client.post(edit_url("contract_expiry", "email"), {"subject": "{package} 到期", "body": "{name} 还有 {days} 天",
                                                       "save": "1"})  # fmt: skip
    sent = notify(agency, member, kind=Kind.CONTRACT_EXPIRY, channel="email", package="金卡", end_date="2025-12-31",
                  days=9)  # fmt: skip
    assert (sent.subject, sent.body) == ("金卡 到期", f"{member.name} 还有 9 天")


# Validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("您的验证码是{code}，{link}", "Unknown placeholder {code}, {link}. This message can use: {name}, {agency}."),
        ("{name.__class__}", "Unknown placeholder {name.__class__}. This message can use: {name}, {agency}."),
        ("{name!r} {}", "Unknown placeholder {}, {name!r}. This message can use: {name}, {agency}."),
        ("长" * 501, "An SMS can have at most 500 characters; this one has 501."),
        ("   ", "This field is required."),
    ],
)
def test_a_bad_wording_is_refused_with_a_clear_message_and_nothing_is_saved(agency, editor, body, error):
    response = en_client(agency, editor).post(edit_url("birthday", "sms"), {"body": body, "save": "1"})
    assert response.status_code == 400
    assert response.context["form"].errors["body"] == [error]
    assert stored(agency) == []


def test_the_service_refuses_an_unknown_placeholder_in_the_subject_too(agency, editor):
    with agency_context(agency), pytest.raises(ValidationError) as caught:
        services.notification_template_save(
            agency=agency, actor=editor, kind=Kind.BIRTHDAY, channel="email", subject="{code}", body="{name}"
        )
    assert caught.value.message_dict == {
        "body": ["Unknown placeholder {code}. This message can use: {name}, {agency}."]
    }
    assert stored(agency) == []


def test_attribute_access_in_a_stored_wording_is_never_evaluated(agency, member):
    """Even a wording that got past the checks (written in the admin, say) is filled by plain replacement."""
    NotificationTemplate.unscoped.create(
        agency=agency, kind=Kind.BIRTHDAY, channel="sms", body="{name.__class__} {name.__init__.__globals__} {name}"
    )
    sent = notify(agency, member)
    assert sent.body == "{name.__class__} {name.__init__.__globals__} " + member.name
    assert templating.fill("{name.__class__.__name__}", {"name": "x"}) == "{name.__class__.__name__}"


# Preview ------------------------------------------------------------------------------------------


def test_the_preview_shows_the_filled_text_and_saves_nothing(agency, editor):
    body = "{name}，您的会员服务将于{end_date}到期（{package}，还剩{days}天）。{agency}"
    response = en_client(agency, editor).post(edit_url("contract_expiry", "sms"), {"body": body, "preview": "1"})
    assert response.status_code == 200
    preview = response.context["preview"]
    expected = "Lin Xiaoyu，您的会员服务将于2025-12-31到期（Gold membership，还剩7天）。安和婚恋"
    assert preview["body"] == expected
    assert preview["subject"] == ""
    assert (preview["length"], preview["parts"]) == (len(expected), 1)
    assert f'id="preview-body" style="white-space: pre-wrap">{expected}</p>' in response.text
    assert f"{len(expected)} characters, sent as 1 message" in response.text
    assert stored(agency) == []


def test_the_preview_of_an_email_shows_the_subject_and_htmx_gets_only_the_preview(agency, editor):
    response = en_client(agency, editor).post(
        edit_url("appointment", "email"),
        {"subject": "{date} 见面", "body": "{name}，{time} 在 {place}", "preview": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert '<strong id="preview-subject">2025-06-14 见面</strong>' in response.text
    assert "Lin Xiaoyu，15:00 在 West Lake Tea House" in response.text
    assert "<form" not in response.text  # the partial only
    assert stored(agency) == []


def test_a_long_sms_preview_counts_its_parts(agency, editor):
    response = en_client(agency, editor).post(edit_url("invitation", "sms"), {"body": "{link}" + "字" * 100,
                                                                               "preview": "1"})  # fmt: skip
    preview = response.context["preview"]
    assert preview["length"] == len(templating.sample_values(Kind.INVITATION)["link"]) + 100
    assert preview["parts"] == 3 and not preview["too_long"]


def test_a_preview_with_an_unknown_placeholder_explains_it(agency, editor):
    response = en_client(agency, editor).post(
        edit_url("birthday", "sms"), {"body": "{code}", "preview": "1"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200  # htmx swaps the explanation in
    assert "Unknown placeholder {code}. This message can use: {name}, {agency}." in response.text
    assert stored(agency) == []


# Reset --------------------------------------------------------------------------------------------


def test_reset_to_default_deletes_the_agencys_wording(agency, editor, member):
    client = en_client(agency, editor)
    client.post(edit_url("birthday", "sms"), {"body": "自己的 {name}", "save": "1"})
    assert "Customised" in client.get(LIST_URL).text
    assert 'id="template-reset-form"' in client.get(edit_url("birthday", "sms")).text

    response = client.post(edit_url("birthday", "sms") + "reset/", follow=True)
    assert messages_of(response) == [("success", "“Birthday greeting” by SMS uses the default wording again.")]
    assert stored(agency) == []
    assert notify(agency, member).body == f"Happy birthday, {member.name}! Best wishes from everyone at 安和婚恋."
    again = client.post(edit_url("birthday", "sms") + "reset/", follow=True)
    assert messages_of(again) == [("info", "This message already uses the default wording.")]


# The list -----------------------------------------------------------------------------------------


def test_the_list_has_every_kind_on_every_channel(agency, editor):
    NotificationTemplate.unscoped.create(agency=agency, kind=Kind.RESET_CODE, channel="sms", body="{code}",
                                         updated_by=editor)  # fmt: skip
    response = en_client(agency, editor).get(LIST_URL)
    assert response.status_code == 200
    rows = response.context["rows"]
    assert len(rows) == len(templating.TEMPLATE_KINDS) * 3 == 15
    assert [(row.kind, row.channel) for row in rows if row.own] == [("reset_code", "sms")]
    assert "manual" not in {row.kind for row in rows}
    assert response.text.count("Customised") == 1
    assert 'href="/staff/settings/message-templates/"' in response.text  # the Settings menu entry


def test_the_edit_page_lists_the_placeholders_with_their_meaning(agency, editor):
    response = en_client(agency, editor).get(edit_url("reset_code", "sms"))
    assert response.status_code == 200
    assert '<code>{code}</code></dt><dd class="col-8">The six-digit code</dd>' in response.text
    assert "<code>{minutes}</code>" in response.text
    assert "subject" not in response.context["form"].fields  # an SMS has none
    assert response.context["form"].initial["body"] == templating.default_wording(Kind.RESET_CODE, "sms")[1]


def test_unknown_kinds_and_channels_answer_404(agency, editor):
    client = en_client(agency, editor)
    assert client.get(edit_url("manual", "sms")).status_code == 404  # written one by one, no template
    assert client.get(edit_url("birthday", "fax")).status_code == 404
    assert client.post(edit_url("nothing", "sms") + "reset/").status_code == 404


# Who may --------------------------------------------------------------------------------------------


def test_another_agency_neither_sees_nor_changes_our_wording(agency, other_agency, editor):
    en_client(agency, editor).post(edit_url("birthday", "sms"), {"body": "只属于安和 {name}", "save": "1"})
    stranger = UserFactory(agency=other_agency, username="stranger", perms=EDIT)
    client = en_client(other_agency, stranger)
    assert "Customised" not in client.get(LIST_URL).text
    page = client.get(edit_url("birthday", "sms"))
    assert "只属于安和" not in page.text
    client.post(edit_url("birthday", "sms") + "reset/")
    client.post(edit_url("birthday", "sms"), {"body": "月老 {name}", "save": "1"})
    assert stored(agency) == [("birthday", "sms", "", "只属于安和 {name}")]
    assert stored(other_agency) == [("birthday", "sms", "", "月老 {name}")]


def test_a_role_without_settings_permissions_gets_403(agency):
    matchmaker = UserFactory(agency=agency, username="plain", perms=["matchmakers.view_members"])
    client = en_client(agency, matchmaker)
    assert client.get(LIST_URL).status_code == 403
    assert client.get(edit_url()).status_code == 403
    assert client.post(edit_url(), {"body": "{name}", "save": "1"}).status_code == 403
    assert client.post(edit_url() + "reset/").status_code == 403
    assert stored(agency) == []
    with agency_context(agency), pytest.raises(PermissionDenied):
        services.notification_template_save(
            agency=agency, actor=matchmaker, kind=Kind.BIRTHDAY, channel="sms", subject="", body="{name}"
        )


def test_a_role_that_may_only_view_settings_reads_and_previews_but_cannot_save(agency, editor):
    en_client(agency, editor).post(edit_url(), {"body": "已存的 {name}", "save": "1"})
    viewer = UserFactory(agency=agency, username="viewer", perms=["matchmakers.view_settings"])
    client = en_client(agency, viewer)
    assert client.get(LIST_URL).status_code == 200
    page = client.get(edit_url())
    assert page.status_code == 200
    assert page.context["form"].fields["body"].disabled
    assert 'name="save"' not in page.text and 'id="template-reset-form"' not in page.text
    preview = client.post(edit_url(), {"body": "改了 {name}", "preview": "1"})
    assert preview.context["preview"]["body"] == "已存的 Lin Xiaoyu"  # the stored wording, not the posted one
    assert client.post(edit_url(), {"body": "改了 {name}", "save": "1"}).status_code == 403
    assert client.post(edit_url() + "reset/").status_code == 403
    assert stored(agency) == [("birthday", "sms", "", "已存的 {name}")]
