"""The matching bench (`manage.py bench matching`): the engine's top 20 against its own floor.

For 50 members picked at random (seeded, repeatable) among the agency's eligible members, it times
`top_candidates` (both directions' hard filter, the score, the top 20 with their profiles) and the
floor: the same two-sided hard filter returning only the ids, unscored and unordered, in the same
run. `ratio` is top20 p50 / floor p50: what scoring and ranking add to filtering.
"""

import random
import time

from django.core.management.base import CommandError

from apps.agencies.context import agency_context
from apps.agencies.models import Agency
from apps.core.bench import percentile, register

from . import engine
from .models import MatchProfile

SAMPLE = 50


@register("matching")
def matching(options: dict) -> dict:
    agency = Agency.objects.filter(slug=options["agency"]).first()
    if agency is None:
        raise CommandError(f"no agency {options['agency']!r}; seed one with `manage.py seed_members`")
    with agency_context(agency):
        eligible = list(MatchProfile.objects.filter(agency=agency, eligible=True).values_list("member_id", flat=True))
        if not eligible:
            raise CommandError(f"agency {agency.slug!r} has no members to match")
        picked = random.Random(1).sample(sorted(eligible), min(SAMPLE, len(eligible)))  # noqa: S311 - a sample

        class Ref:  # what engine functions need of a member: its id and agency
            def __init__(self, pk):
                self.pk, self.agency_id = pk, agency.pk

        weights = engine.weights(agency)
        for member_id in picked[: options["warmup"]]:
            engine.top_candidates(agency=agency, member=Ref(member_id), weights_=weights)
            engine.candidate_ids(agency=agency, member=Ref(member_id))
        top, floor, found, sizes = [], [], 0, []
        for member_id in picked:
            started = time.perf_counter()
            best = engine.top_candidates(agency=agency, member=Ref(member_id), weights_=weights)
            top.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            ids = engine.candidate_ids(agency=agency, member=Ref(member_id))
            floor.append((time.perf_counter() - started) * 1000)
            found += bool(best)
            sizes.append(len(ids))
        members_total = MatchProfile.objects.filter(agency=agency).count()
    top_p50, floor_p50 = percentile(top, 0.5), percentile(floor, 0.5)
    return {
        "bench": "matching",
        "members": members_total,
        "sampled": len(picked),
        "top20_p50_ms": round(top_p50, 1),
        "top20_p95_ms": round(percentile(top, 0.95), 1),
        "floor_p50_ms": round(floor_p50, 1),
        "floor_p95_ms": round(percentile(floor, 0.95), 1),
        "ratio": round(top_p50 / floor_p50, 2) if floor_p50 else None,
        "with_candidates": found,
        "candidates_p50": int(percentile(sizes, 0.5)),
        "candidates_max": max(sizes),
    }
