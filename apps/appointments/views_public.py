"""Published success stories on the agency's public site (F-F8).

Visitors see the title, story, date, the re-encoded photos and the couple's names masked to the
surname (王**); never a phone number, WeChat or any other contact detail.
"""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from apps.agencies.selectors import site_settings_get
from apps.core.templatetags.matchcrm import mask_name

from .selectors import public_story_list

PAGE_SIZE = 12


def _public(story):
    story.couple = (mask_name(story.member_a.name), mask_name(story.member_b.name))
    return story


def story_list(request):
    page = Paginator(public_story_list(agency=request.agency), PAGE_SIZE).get_page(request.GET.get("page"))
    for story in page:
        _public(story)
    return render(request, "appointments/public_story_list.html",
                  {"site": site_settings_get(agency=request.agency), "page": page})  # fmt: skip


def story_detail(request, pk):
    story = public_story_list(agency=request.agency).filter(pk=pk).first()
    if story is None:
        raise Http404
    return render(request, "appointments/public_story_detail.html",
                  {"site": site_settings_get(agency=request.agency), "story": _public(story)})  # fmt: skip
