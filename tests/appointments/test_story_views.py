"""Success-story pages in the back office, and the agency's public story pages.

Each: the happy path, bad input, a user of another agency, a role without the right.
"""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.agencies.context import agency_context
from apps.appointments import services
from apps.appointments.models import StoryPhoto, SuccessStory
from apps.members.models import Member
from tests.appointments.factories import ALL_PERMS, STORY_PERMS, service_team
from tests.conftest import agency_client, image_bytes
from tests.finance.factories import member
from tests.matchmakers.factories import UserFactory

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def url(name, *args):
    return reverse(f"appointments:{name}", args=args)


def public_url(name, *args):
    return reverse(f"stories:{name}", args=args)


@pytest.fixture
def team(agency):
    return service_team(agency)


@pytest.fixture
def outsider(other_agency):
    return UserFactory(agency=other_agency, username="aftersale", perms=ALL_PERMS)


@pytest.fixture
def reader(agency):
    """May read stories, not write, change or publish them."""
    return UserFactory(agency=agency, username="reader", perms=["matchmakers.view_members", "matchmakers.view_stories"])


@pytest.fixture
def stranger(agency):
    return UserFactory(agency=agency, username="stranger", perms=["matchmakers.view_members"])


def couple(agency, team, names=("王小明", "李晓雨")):
    return tuple(member(agency, team["sales"], aftersale=team["matchmaker"], name=name, status="in_service")
                 for name in names)  # fmt: skip


def story(agency, team, pair=None, *, consent=False, published=False, title="相识三个月后订婚", date=None):
    pair = pair or couple(agency, team)
    with agency_context(agency):
        result = services.story_create(
            agency=agency, actor=team["matchmaker"], member_a=pair[0], member_b=pair[1], title=title,
            text="两人在一次约见中相识,如今已经订婚。", story_date=date or datetime.date(2026, 5, 20),
            consent_a=consent or published, consent_b=consent or published,
        )  # fmt: skip
        if published:
            result = services.story_publish(agency=agency, actor=team["publisher"], story=result)
    return result


def story_data(pair, **extra):
    return {"member_a_no": pair[0].member_no, "member_b_no": pair[1].member_no, "title": "喜结良缘",
            "story_date": "2026-09-09", "text": "从第一次约见到婚礼,只用了一年。", **extra}  # fmt: skip


# --- list ------------------------------------------------------------------------------------------


def test_the_story_list_filters_by_status_year_and_member(agency, team):
    draft = story(agency, team, title="草稿故事", date=datetime.date(2025, 3, 1))
    published = story(agency, team, couple(agency, team, ("张伟", "刘芳")), published=True, title="已发布故事")
    client = agency_client(agency, team["matchmaker"])
    response = client.get(url("stories"))
    assert response.status_code == 200 and "草稿故事" in response.text and "已发布故事" in response.text

    def pks(**params):
        return [s.pk for s in client.get(url("stories"), params).context["page"]]

    assert pks(status="draft") == [draft.pk] and pks(status="published") == [published.pk]
    assert pks(year="2025") == [draft.pk] and pks(q="刘芳") == [published.pk]
    assert pks(q=draft.member_b.member_no) == [draft.pk]
    response = client.get(url("stories"), {"year": "1999"}, **EN)
    assert response.status_code == 200 and "Select a valid choice" in response.text


def test_the_story_list_shows_a_matchmaker_their_members_stories_and_the_publisher_all(agency, team):
    elsewhere = UserFactory(agency=agency, perms=STORY_PERMS)
    theirs = (member(agency, elsewhere), member(agency, elsewhere))
    with agency_context(agency):
        hidden = services.story_create(agency=agency, actor=elsewhere, member_a=theirs[0], member_b=theirs[1],
                                       title="别的团队", text="……", story_date=datetime.date(2026, 1, 1))  # fmt: skip
    mine = story(agency, team)
    assert [s.pk for s in agency_client(agency, team["matchmaker"]).get(url("stories")).context["page"]] == [mine.pk]
    publisher_rows = {s.pk for s in agency_client(agency, team["publisher"]).get(url("stories")).context["page"]}
    assert publisher_rows == {mine.pk, hidden.pk}


def test_the_story_list_query_count_is_constant(agency, team, django_assert_max_num_queries):
    client = agency_client(agency, team["matchmaker"])
    story(agency, team)
    client.get(url("stories"))
    with django_assert_max_num_queries(15) as few:
        client.get(url("stories"))
    for n in range(12):
        story(agency, team, couple(agency, team, (f"甲{n}", f"乙{n}")), date=datetime.date(2020 + n % 5, 1, 1))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url("stories")).context["page"]) == 13


def test_story_pages_are_closed_to_other_agencies_and_roles_without_the_right(agency, team, outsider, stranger):
    draft = story(agency, team, consent=True)
    foreign = agency_client(outsider.agency, outsider)
    assert not foreign.get(url("stories")).context["page"].object_list
    for name in ("story", "story_edit"):
        assert foreign.get(url(name, draft.pk)).status_code == 404
    assert foreign.post(url("story_action", draft.pk, "publish")).status_code == 404
    assert foreign.post(url("story_photos_add", draft.pk)).status_code == 404
    denied = agency_client(agency, stranger)
    for address in (url("stories"), url("story_create"), url("story", draft.pk), url("story_edit", draft.pk)):
        assert denied.get(address).status_code == 403
    draft.refresh_from_db()
    assert not draft.is_published


# --- writing and changing ------------------------------------------------------------------------


def test_writing_a_story(agency, team):
    pair = couple(agency, team)
    client = agency_client(agency, team["matchmaker"])
    form = client.get(url("story_create"), {"member": pair[0].pk})
    assert form.status_code == 200 and pair[0].member_no in form.text
    response = client.post(url("story_create"), story_data(pair, consent_a="on"))
    created = SuccessStory.unscoped.get()
    assert response.status_code == 302 and response["Location"] == url("story", created.pk)
    assert created.consent_a and not created.consent_b and created.consent_a_by == team["matchmaker"]
    page = client.get(url("story", created.pk))
    assert page.status_code == 200 and "喜结良缘" in page.text


def test_bad_stories_answer_400_and_save_nothing(agency, team, outsider, reader):
    pair = couple(agency, team)
    client = agency_client(agency, team["matchmaker"])
    for data, message in [
        (story_data(pair, title=""), "This field is required"),
        (story_data(pair, member_b_no="NOPE"), "No member of the agency has this number"),
        (story_data(pair, story_date="2999-01-01"), "The date cannot be in the future"),
        (story_data((pair[0], pair[0])), "Choose two different members"),
    ]:
        response = client.post(url("story_create"), data, **EN)
        assert response.status_code == 400 and message in response.text, message
    response = agency_client(outsider.agency, outsider).post(url("story_create"), story_data(pair), **EN)
    assert response.status_code == 400 and "No member of the agency has this number" in response.text
    assert agency_client(agency, reader).post(url("story_create"), story_data(pair)).status_code == 403
    assert not SuccessStory.unscoped.exists()


def test_editing_a_story_records_consent(agency, team, reader):
    draft = story(agency, team)
    client = agency_client(agency, team["matchmaker"])
    assert client.get(url("story_edit", draft.pk)).status_code == 200
    data = {"title": "新标题", "story_date": "2026-05-20", "text": "新的故事", "consent_a": "on", "consent_b": "on"}
    assert client.post(url("story_edit", draft.pk), data).status_code == 302
    draft.refresh_from_db()
    assert draft.title == "新标题" and draft.may_publish and draft.consent_b_by == team["matchmaker"]
    response = client.post(url("story_edit", draft.pk), {**data, "text": ""}, **EN)
    assert response.status_code == 400 and "This field is required" in response.text
    assert agency_client(agency, reader).post(url("story_edit", draft.pk), data).status_code == 403
    draft.refresh_from_db()
    assert draft.text == "新的故事"


# --- photos ----------------------------------------------------------------------------------------


def upload(name="photo.png", content=None):
    return SimpleUploadedFile(name, content or image_bytes(), content_type="image/png")


def test_uploading_several_photos_at_once_and_removing_one(agency, team, django_capture_on_commit_callbacks):
    draft = story(agency, team)
    client = agency_client(agency, team["matchmaker"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("story_photos_add", draft.pk), {"images": [upload("a.png"), upload("b.png")],
                                                                   "caption": "订婚宴"})  # fmt: skip
    assert response.status_code == 302
    photos = list(StoryPhoto.unscoped.filter(story=draft))
    assert len(photos) == 2 and all(photo.optimized for photo in photos)
    response = client.post(url("story_photo_delete", draft.pk, photos[0].pk))
    assert response.status_code == 302
    assert list(StoryPhoto.unscoped.filter(story=draft)) == [photos[1]]


def test_bad_uploads_answer_400_and_add_nothing(agency, team, outsider, reader):
    draft = story(agency, team)
    client = agency_client(agency, team["matchmaker"])
    response = client.post(url("story_photos_add", draft.pk), {"images": [upload("x.png", b"not an image")]}, **EN)
    assert response.status_code == 400 and "not an image we can read" in response.text
    response = client.post(url("story_photos_add", draft.pk), {}, **EN)
    assert response.status_code == 400 and "This field is required" in response.text
    assert agency_client(agency, reader).post(url("story_photos_add", draft.pk),
                                              {"images": [upload()]}).status_code == 403  # fmt: skip
    assert not StoryPhoto.unscoped.exists()


def test_a_photo_can_only_be_removed_through_its_own_story(agency, team, outsider, reader):
    first, second = story(agency, team), story(agency, team)
    with agency_context(agency):
        photo = services.story_photos_add(agency=agency, actor=team["matchmaker"], story=first, images=[upload()])[0]
    client = agency_client(agency, team["matchmaker"])
    assert client.post(url("story_photo_delete", second.pk, photo.pk)).status_code == 404
    foreign = agency_client(outsider.agency, outsider)
    assert foreign.post(url("story_photo_delete", first.pk, photo.pk)).status_code == 404
    assert agency_client(agency, reader).post(url("story_photo_delete", first.pk, photo.pk)).status_code == 403
    assert StoryPhoto.unscoped.filter(pk=photo.pk).exists()


# --- publishing ------------------------------------------------------------------------------------


def test_the_publisher_publishes_and_unpublishes(agency, team):
    draft = story(agency, team, consent=True)
    client = agency_client(agency, team["publisher"])
    assert client.post(url("story_action", draft.pk, "publish")).status_code == 302
    draft.refresh_from_db()
    assert draft.is_published
    assert set(Member.unscoped.filter(pk__in=[draft.member_a_id, draft.member_b_id])
               .values_list("status", flat=True)) == {"success"}  # fmt: skip
    assert client.post(url("story_action", draft.pk, "unpublish")).status_code == 302
    draft.refresh_from_db()
    assert not draft.is_published


def test_publishing_without_both_consents_answers_400(agency, team):
    draft = story(agency, team)
    client = agency_client(agency, team["publisher"])
    response = client.post(url("story_action", draft.pk, "publish"), **EN)
    assert response.status_code == 400 and "Both members must agree" in response.text
    assert client.post(url("story_action", draft.pk, "frame")).status_code == 404
    draft.refresh_from_db()
    assert not draft.is_published


def test_publishing_needs_the_audit_right(agency, team):
    draft = story(agency, team, consent=True)
    assert agency_client(agency, team["matchmaker"]).post(url("story_action", draft.pk, "publish")).status_code == 403
    draft.refresh_from_db()
    assert not draft.is_published


# --- the public site -------------------------------------------------------------------------------


def test_the_public_pages_show_only_this_agencys_published_stories_with_masked_names(agency, other_agency, team):
    published = story(agency, team, couple(agency, team, ("王小明", "欧阳娜娜")), published=True, title="公开的故事")
    draft = story(agency, team, consent=True, title="还没发布")
    other_team = service_team(other_agency)
    foreign = story(other_agency, other_team, couple(other_agency, other_team), published=True, title="别家的故事")
    visitor = agency_client(agency)
    page = visitor.get(public_url("list"))
    assert page.status_code == 200
    assert "公开的故事" in page.text and "还没发布" not in page.text and "别家的故事" not in page.text
    assert "王**" in page.text and "欧**" in page.text
    detail = visitor.get(public_url("detail", published.pk))
    assert detail.status_code == 200 and "王**" in detail.text
    for text in ("王小明", "欧阳娜娜", published.member_a.phone, published.member_a.member_no):
        assert text not in page.text and text not in detail.text
    assert visitor.get(public_url("detail", draft.pk)).status_code == 404
    assert visitor.get(public_url("detail", foreign.pk)).status_code == 404


def test_public_photos_appear_once_reencoded(agency, team):
    published = story(agency, team, published=True)
    with agency_context(agency):
        photo = services.story_photos_add(agency=agency, actor=team["publisher"], story=published,
                                          images=[upload()])[0]  # fmt: skip  # the task has not run yet
    visitor = agency_client(agency)
    assert photo.image.url not in visitor.get(public_url("detail", published.pk)).text
    StoryPhoto.unscoped.filter(pk=photo.pk).update(optimized=True)
    assert photo.image.url in visitor.get(public_url("detail", published.pk)).text


def test_the_public_list_query_count_is_constant(agency, team, django_assert_max_num_queries):
    visitor = agency_client(agency)
    story(agency, team, published=True)
    visitor.get(public_url("list"))
    with django_assert_max_num_queries(10) as few:
        visitor.get(public_url("list"))
    for n in range(8):
        story(agency, team, couple(agency, team, (f"甲{n}", f"乙{n}")), published=True)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(visitor.get(public_url("list")).context["page"]) == 9


def test_changes_by_someone_who_may_not_publish_take_a_story_off_the_site(agency, team):
    published = story(agency, team, published=True)
    visitor = agency_client(agency)
    assert visitor.get(public_url("detail", published.pk)).status_code == 200
    with agency_context(agency):
        services.story_photos_add(agency=agency, actor=team["matchmaker"], story=published, images=[upload()])
    published.refresh_from_db()
    assert not published.is_published
    assert visitor.get(public_url("detail", published.pk)).status_code == 404
