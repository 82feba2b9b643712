"""The language switch: GET /lang/{code}?next=/path sets the `lang` cookie and goes back (app/i18n.py)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from app.i18n import COOKIE, COOKIE_MAX_AGE, LANGUAGES

router = APIRouter(include_in_schema=False)


@router.get("/lang/{code}")
async def switch(code: str, next: str = "/") -> RedirectResponse:
    """An unknown language is English; `next` must be a path on this site (never another site's URL)."""
    back = next if next.startswith("/") and not next.startswith("//") and "\\" not in next else "/"
    response = RedirectResponse(back, status_code=303)
    response.set_cookie(COOKIE, code if code in LANGUAGES else "en", max_age=COOKIE_MAX_AGE,
                        samesite="lax", httponly=True)
    return response
