"""The search benchmark's idea generator: deterministic, and as varied as it says."""

from __future__ import annotations

import re
from collections import Counter

from bench import ideas
from registry import demo
from registry.demo import CCG, PEOPLE
from registry.ip.schemas import SUMMARY_MAX, TAG_MAX, TAG_PATTERN, TITLE_MAX

SAMPLE = 2000


def test_the_organisations_are_the_demo_alliances():
    assert {ideas.CCG, ideas.NORTHSIDE, ideas.RIVERSIDE, ideas.HARBOUR, ideas.WEARSIDE} == {
        name for _kind, name, _ods in demo.ORGANISATIONS
    }
    assert ideas.CCG == demo.CCG


def test_an_idea_is_the_same_whatever_else_is_generated():
    assert ideas.idea(123, SAMPLE) == ideas.idea(123, SAMPLE)
    assert list(ideas.ideas(50, start=40)) == [ideas.idea(n, 50) for n in range(40, 50)]
    # Another seed, another register.
    assert ideas.idea(123, SAMPLE, seed=6).body != ideas.idea(123, SAMPLE).body


def test_ideas_are_about_160_words_and_fit_the_api_limits():
    made = list(ideas.ideas(SAMPLE))
    words = [idea.words for idea in made]
    assert 140 <= sum(words) / len(words) <= 180
    for idea in made:
        assert 0 < len(idea.title) <= TITLE_MAX
        assert 0 < len(idea.summary) <= SUMMARY_MAX
        assert len(set(idea.tags)) == len(idea.tags)
        assert all(TAG_PATTERN.match(tag) and len(tag) <= TAG_MAX for tag in idea.tags)


def test_every_sensitivity_origin_owner_and_group_occurs():
    made = list(ideas.ideas(SAMPLE))
    assert {i.sensitivity for i in made} == {"public", "alliance", "commercial", "confidential"}
    assert {i.origin for i in made} == {"provider", "forum"}
    assert {i.owner for i in made} == {CCG} | {name for name, _, _ in ideas.PROVIDERS}
    assert {i.group for i in made} == {None} | {slug for slug, _, _ in ideas.GROUPS}
    assert 0 < sum(i.withdrawn for i in made) < SAMPLE * 0.1


def test_the_ownership_rule_holds():
    people = {email: (orgs, slugs) for email, _name, orgs, slugs in PEOPLE}
    people |= {email: ([(p, None)], slugs) for email, _n, p, slugs in ideas.BENCH_PEOPLE}
    for idea in ideas.ideas(SAMPLE):
        organisations, groups = people[idea.submitter]
        if idea.origin == "forum":
            assert idea.owner == CCG
            assert idea.group in groups
        else:
            assert idea.group is None
            assert idea.owner in {name for name, _role in organisations}


def test_word_frequencies_are_zipf_like():
    counts = Counter(
        word
        for idea in ideas.ideas(SAMPLE)
        for word in re.findall(r"\w+", f"{idea.title} {idea.summary} {idea.body}".lower())
    )
    ranked = [count for _word, count in counts.most_common()]
    # A long tail of rare words under a few very frequent ones.
    assert len(ranked) > 5000
    assert ranked[0] > 20 * ranked[99]
    assert sum(1 for count in ranked if count == 1) > len(ranked) / 10


def test_submission_times_rise_with_the_idea_number():
    times = [idea.submitted_at for idea in ideas.ideas(100)]
    assert times == sorted(times)
    assert all(t.tzinfo is not None for t in times)
    assert ideas.idea(100, 100).submitted_at > times[-1]


def test_queries_are_two_or_three_words_with_a_filter():
    queries = ideas.queries(100)
    assert queries == ideas.queries(100)
    assert all(2 <= len(q.words) <= 3 for q in queries)
    assert {q.filter[0] for q in queries} == {"origin", "owner", "group", "sensitivity"}
    text = " ".join(f"{i.title} {i.summary} {i.body}" for i in ideas.ideas(SAMPLE)).lower()
    vocabulary = set(re.findall(r"\w+", text))
    assert all(word in vocabulary for q in queries for word in q.words)
