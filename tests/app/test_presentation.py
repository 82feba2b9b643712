"""app/presentation.py: the view's words in the URL, read back the way a link or a GET form writes them."""

from __future__ import annotations

from app.presentation import Presentation


def test_hide_reads_commas_and_repeats_keeps_the_fixed_order_and_drops_unknown_words() -> None:
    view = Presentation.parse({"view": "projector", "hide": ["share,setup", "bogus", "data"]})
    assert view == Presentation(projector=True, hidden=("setup", "data", "share"))
    assert view.suffix() == "&view=projector&hide=setup,data,share"
    assert Presentation.parse(dict(view.query().items())) == view


def test_no_parameters_is_the_plain_page_and_toggling_keeps_what_is_hidden() -> None:
    plain = Presentation.parse({})
    assert plain.suffix() == "" and plain.context()["body_class"] == ""
    turned = Presentation.parse({"hide": "nav"}).toggled()
    assert turned.projector and turned.hidden == ("nav",)
    assert turned.context()["body_class"] == "projector hide-nav"


def test_the_page_keeps_the_view_in_its_redirect_and_its_link_to_setup(client) -> None:  # type: ignore[no-untyped-def]
    first = client.get("/?hide=setup&view=projector", follow_redirects=False)
    assert first.status_code == 303
    location = first.headers["location"]
    assert location.endswith("&view=projector&hide=setup") and "session=" in location
    page = client.get(location)
    assert '<body class="projector hide-setup">' in page.text
    assert "hide=setup" in page.text.split('id="share-link"')[1].split(">")[0]
