"""The review page: one field at a time, the crop beside the guess, driven by the keyboard.

Listens on 127.0.0.1 only (the caller binds it). Forms carry a per-server token so
that another web page cannot post decisions to it. The page asks who is working (the
operator who started it, until someone else gives their name) and keeps to that
operator's scope, as the commands do: it calls the same review actions (junkai.actions.review).
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote, unquote

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from junkai import JunkaiError, access
from junkai.actions import Context, review
from junkai.review import row_text
from junkai.settings import Settings
from junkai.store import Store

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _shown(v) -> str:
    if v in (None, "", []):
        return ""
    if isinstance(v, list):
        return "・".join(map(str, v))
    if isinstance(v, dict):
        return " ".join(str(x) for x in v.values())
    return str(v)


def create_app(store: Store, operator: str, home: Path, scope: tuple[str, str] | None = None) -> Starlette:
    """The page for one queue: the whole store's, or a beat's, post's or station's (`scope`).

    Everything it shows or decides goes through the review actions (junkai.actions.review), as
    the commands do: the same rights, the same audit rows. `home` is the data folder, the only
    place crops are served from."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    env.filters["shown"] = _shown
    # a new member's or contact's values are corrected as one line: 氏名=… / フリガナ=…
    env.filters["editable"] = lambda item: (row_text(item["guess"] or {}, item["field"]) if item["kind"] == "row"
                                            else _shown(item["guess"]))
    template = env.get_template("review.html.j2")
    token = secrets.token_urlsafe(16)
    # the page needs of the settings only the data folder; the store is the one it was given
    started = Context(Settings(home=home.resolve(), db_url=store.url, config_path=None), store, operator)

    def who(request: Request) -> str:
        # quoted: a cookie carries ASCII only, names are Japanese
        return unquote(request.cookies.get("junkai_operator", "")).strip() or started.operator

    def ctx(request: Request) -> Context:
        return replace(started, operator=who(request))

    def page(request: Request, item: dict | None, error: str | None = None, typed: str | None = None,
             status: int = 200):
        html = template.render(item=item, error=error, typed=typed, progress=review.progress(started, scope),
                               token=token, operator=who(request), address=item["address"] if item else None)
        return HTMLResponse(html, status_code=status)

    def after(item_id: int) -> Response:
        nxt = review.next_pending(started, item_id, scope)
        return RedirectResponse(f"/item/{nxt}" if nxt else "/", 303)

    async def index(request: Request) -> Response:
        nxt = review.next_pending(started, 0, scope)
        return RedirectResponse(f"/item/{nxt}", 303) if nxt else page(request, None)

    async def show(request: Request) -> Response:
        try:
            item = review.show(ctx(request), int(request.path_params["id"]))
        except access.Refused as exc:
            return page(request, None, str(exc), status=403)
        except JunkaiError:
            return RedirectResponse("/", 303)
        return page(request, item)

    async def post(request: Request) -> Response:
        item_id = int(request.path_params["id"])
        form = await request.form()
        if form.get("token") != token:
            return Response("不正な送信です", status_code=403)
        action = form.get("action", "correct")
        try:
            if action == "skip":
                review.may_review(ctx(request), item_id)
                return after(item_id)
            review.decide(ctx(request), item_id, action, value=form.get("value"), reason=form.get("reason"),
                          complaint=form.get("complaint") == "on")
        except access.Refused as exc:
            return page(request, None, str(exc), status=403)
        except JunkaiError as exc:
            return page(request, _item(item_id), str(exc), form.get("value"), 422)
        return after(item_id)

    def _item(item_id: int) -> dict:
        """The item again beside a decision that failed (its operator may review it: just checked)."""
        with store.transaction():
            return review.with_address(store, store.review_item(item_id))

    async def crop(request: Request) -> Response:
        # only images inside the data folder are served, and only to whom the item is
        try:
            path = review.crop(ctx(request), int(request.path_params["id"]))
        except JunkaiError:
            return Response(status_code=404)
        return FileResponse(path) if path else Response(status_code=404)

    async def set_operator(request: Request) -> Response:
        form = await request.form()
        if form.get("token") != token:
            return Response("不正な送信です", status_code=403)
        name = str(form.get("operator", "")).strip()
        response = RedirectResponse("/", 303)
        if name:
            response.set_cookie("junkai_operator", quote(name), httponly=True, samesite="strict")
        return response

    return Starlette(routes=[
        Route("/", index), Route("/item/{id:int}", show), Route("/item/{id:int}", post, methods=["POST"]),
        Route("/crop/{id:int}", crop), Route("/operator", set_operator, methods=["POST"]),
    ])
