"""The review page: one field at a time, the crop beside the guess, driven by the keyboard.

Listens on 127.0.0.1 only (the caller binds it). Forms carry a per-server token so
that another web page cannot post decisions to it. The page asks who is working (the
operator who started it, until someone else gives their name) and keeps to that
operator's scope, as the commands do (junkai.access).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import quote, unquote

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from junkai import JunkaiError, access
from junkai.review import decide, progress
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
    """The page for one queue: the whole store's, or a beat's, post's or station's (`scope`)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    env.filters["shown"] = _shown
    template = env.get_template("review.html.j2")
    token = secrets.token_urlsafe(16)
    home = home.resolve()
    started_by = operator

    def who(request: Request) -> str:
        # quoted: a cookie carries ASCII only, names are Japanese
        return unquote(request.cookies.get("junkai_operator", "")).strip() or started_by

    def refused(request: Request, item_id: int) -> str | None:
        """Why this operator may not see or decide the item (audited), or None."""
        with store.transaction():
            target = store.review_target(store.review_item(item_id))
        try:
            access.check(store, who(request), "review", [target])
        except access.Refused as exc:
            return str(exc)
        return None

    def next_pending(after: int) -> int | None:
        with store.transaction():
            items = (store.review_items(("pending",), after=after, limit=1, scope=scope)
                     or store.review_items(("pending",), limit=1, scope=scope))
        return items[0]["id"] if items else None

    def page(request: Request, item: dict | None, error: str | None = None, typed: str | None = None,
             status: int = 200):
        address = None
        if item and item["premises_id"]:
            with store.transaction():
                p = store.premises(item["premises_id"])
            address = f"{p['city']}{p['town']}{p['block']} {p['building'] or ''} {p['room'] or ''}".strip()
        html = template.render(item=item, error=error, typed=typed, progress=progress(store, scope), token=token,
                               operator=who(request), address=address)
        return HTMLResponse(html, status_code=status)

    async def index(request: Request) -> Response:
        nxt = next_pending(0)
        return RedirectResponse(f"/item/{nxt}", 303) if nxt else page(request, None)

    async def show(request: Request) -> Response:
        try:
            with store.transaction():
                item = store.review_item(int(request.path_params["id"]))
        except JunkaiError:
            return RedirectResponse("/", 303)
        why = refused(request, item["id"])
        return page(request, None, why, status=403) if why else page(request, item)

    async def post(request: Request) -> Response:
        item_id = int(request.path_params["id"])
        form = await request.form()
        if form.get("token") != token:
            return Response("不正な送信です", status_code=403)
        action = form.get("action", "correct")
        why = refused(request, item_id)
        if why:
            return page(request, None, why, status=403)
        if action == "skip":
            nxt = next_pending(item_id)
            return RedirectResponse(f"/item/{nxt}" if nxt else "/", 303)
        try:
            decide(store, item_id, action, who(request), value=form.get("value"), reason=form.get("reason"),
                   complaint=form.get("complaint") == "on")
        except JunkaiError as exc:
            with store.transaction():
                item = store.review_item(item_id)
            return page(request, item, str(exc), form.get("value"), 422)
        nxt = next_pending(item_id)
        return RedirectResponse(f"/item/{nxt}" if nxt else "/", 303)

    async def crop(request: Request) -> Response:
        with store.transaction():
            item = store.review_item(int(request.path_params["id"]))
        path = Path(item["crop"] or "").resolve()
        # only images inside the data folder are served, and only to whom the item is
        if not item["crop"] or home not in path.parents or not path.is_file() or refused(request, item["id"]):
            return Response(status_code=404)
        return FileResponse(path)

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
