def test_pat_registers_a_provider_idea_owned_by_northside(make_idea, directory):
    idea = make_idea()
    assert idea["origin"] == "provider"
    assert idea["owner"] == directory["Northside GP Federation"]
    assert idea["version"] == 1


def test_forum_idea_belongs_to_the_ccg_whatever_the_request_says(make_idea, directory):
    idea = make_idea(
        by="fran@northside.example",
        origin="forum",
        group=directory["general-practice"],
        owner=directory["Northside GP Federation"],
    )
    assert idea["owner"] == directory["NHS Sunderland CCG (demo)"]
    assert idea["group"] == directory["general-practice"]
