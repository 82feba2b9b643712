"""How the playground is shown, kept in its URL: projector view and the controls a teacher hides.

`?view=projector` is the projector's view (large type, high contrast, fewer secondary controls);
`&hide=setup,share` hides whole groups of controls, as TF Playground's hidden-controls links do: a
teacher hides what the lesson does not need, then hands out "link to setup", which carries both, so
every student's own copy opens the same way. (Class mode's /p/CODE, "present a run to followers", is a
different thing: a live read-only run.) The names below are the URL's words and the CSS classes
`hide-<name>` on <body> (static/css/screens.css "Presentation").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from app.i18n import N_

PROJECTOR = "projector"
# URL word -> what it hides, in the words of the page's "students see" choices.
HIDEABLE: dict[str, str] = {
    "setup": N_("training setup (learning rate, optimizer, batch size …)"),
    "data": N_("data panel (datasets, noise, features, adding points)"),
    "layers": N_("layer and unit buttons"),
    "output": N_("output panel (decision boundary, loss)"),
    "share": N_("share, link, export and import"),
    "speed": N_("step unit and speed"),
    "nav": N_("page tabs and the code box"),
}


@dataclass(frozen=True)
class Presentation:
    projector: bool = False
    hidden: tuple[str, ...] = ()  # names from HIDEABLE, in HIDEABLE's order

    @classmethod
    def parse(cls, query: Mapping[str, Any] | Mapping[str, list[str]]) -> Presentation:
        """From query parameters; `hide` may be repeated (a GET form) or comma separated (a link).
        Unknown words are ignored: a view is a nicety, never a refusal."""
        view = _values(query, "view")
        words = {w.strip() for value in _values(query, "hide") for w in value.split(",")}
        return cls(projector=PROJECTOR in view, hidden=tuple(n for n in HIDEABLE if n in words))

    @classmethod
    def of_request(cls, request: Any) -> Presentation:
        """The page's own view: from its query, or for an htmx request from the address it was made on
        (htmx sends it as HX-Current-URL), so re-rendering #page keeps the view in the address bar."""
        current = request.headers.get("hx-current-url")
        if current:
            return cls.parse(parse_qs(urlsplit(current).query))
        return cls.parse({key: request.query_params.getlist(key) for key in ("view", "hide")})

    def query(self) -> dict[str, str]:
        out = {"view": PROJECTOR} if self.projector else {}
        if self.hidden:
            out["hide"] = ",".join(self.hidden)
        return out

    def suffix(self) -> str:
        """'&view=projector&hide=setup,share' (or ''), to append to a query string."""
        query = self.query()
        return "&" + urlencode(query, safe=",") if query else ""

    def toggled(self) -> Presentation:
        return Presentation(projector=not self.projector, hidden=self.hidden)

    def context(self) -> dict[str, Any]:
        """For base.html (body classes) and controls.html (the toggle and the choices)."""
        classes = (["projector"] if self.projector else []) + [f"hide-{name}" for name in self.hidden]
        return {"presentation": self, "body_class": " ".join(classes), "hideable": HIDEABLE}


def _values(query: Mapping[str, Any], key: str) -> list[str]:
    value = query.get(key)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
