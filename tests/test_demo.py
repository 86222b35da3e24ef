from sqlalchemy import func, select

from registry import demo
from registry.db import db
from registry.ip.models import Idea, Origin


def test_demo_ideas_follow_the_ownership_rule_and_load_once(app_context, directory):
    demo.load()
    demo.load()

    ideas = db.session.scalars(select(Idea)).all()
    assert len(ideas) == len(demo.IDEAS)
    forum = [i for i in ideas if i.origin is Origin.FORUM]
    assert forum
    assert {str(i.owner_id) for i in forum} == {directory[demo.CCG]}


def test_demo_alliance_is_idempotent(app_context):
    from registry.alliance.models import Membership, Person

    before = db.session.scalar(select(func.count()).select_from(Membership))
    demo.load_alliance()
    after = db.session.scalar(select(func.count()).select_from(Membership))
    assert before == after
    emails = set(db.session.scalars(select(Person.email)))
    assert {email for email, *_ in demo.PEOPLE} <= emails
