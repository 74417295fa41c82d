"""The review page: one scanned card at a time, its doubtful values as one form beside their crops,
driven by the keyboard; items that need a choice of their own (a move, a removal, which premises) keep
their own screen.

Listens on 127.0.0.1 only (the caller binds it) and answers only requests naming 127.0.0.1,
localhost or a host of [review] allowed_hosts (against DNS rebinding). A person logs in with their
user name and passphrase (junkai user passwd); the session is a random token kept here, in an
HttpOnly, SameSite=Strict cookie, and each form carries the session's own token. The operator of
everything shown or decided is the logged-in user, within their scope: the page calls the same
checked, audited review actions (junkai.actions.review) as the commands.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from junkai import JunkaiError, access
from junkai.actions import Context, login as L, review
from junkai import review as R
from junkai.review import row_text
from junkai.settings import Settings
from junkai.store import Store

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LOCAL_HOSTS = ("127.0.0.1", "localhost")
SESSION_COOKIE, LOGIN_COOKIE = "junkai_session", "junkai_login"
SESSION_HOURS = 8  # a working day at most, then log in again (and how long a card's decisions may be undone)
IDLE_MINUTES = 30  # left alone this long, the session ends
log = logging.getLogger(__name__)

HEADERS = [(b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
DEFAULT_CSP = b"default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"


def _csp(nonce: str) -> str:
    # no inline script or style but the page's own, named by a nonce fresh for each response
    return (f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class SecurityHeaders:
    """Every response (a refusal of the host, an error page, an image too): not to be framed, sniffed,
    referred or cached; a page's own CSP is kept, anything else gets the default one."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers += HEADERS
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", DEFAULT_CSP))
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, with_headers)


@dataclass
class Session:
    name: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    started: float = field(default_factory=time.monotonic)
    seen: float = field(default_factory=time.monotonic)

    def alive(self, now: float) -> bool:
        return now - self.started < SESSION_HOURS * 3600 and now - self.seen < IDLE_MINUTES * 60


def _shown(v) -> str:
    if v in (None, "", []):
        return ""
    if isinstance(v, list):
        return "・".join(map(str, v))
    if isinstance(v, dict):
        return " ".join(str(x) for x in v.values())
    return str(v)


def _row_fields(item: dict) -> list[str]:
    """The values of a new member or contact asked for: its name first, then what was read."""
    keys = ["name", "kana", "relation", "birth_date"] if str(item["field"]).startswith("members") else ["name"]
    return keys + [k for k in (item["guess"] or {}) if k not in keys]


def create_app(store: Store, home: Path, scope: tuple[str, str] | None = None,
               hosts: tuple[str, ...] = ()) -> SecurityHeaders:
    """The page for one queue: the whole store's, or a beat's, post's or station's (`scope`); without
    one, each user sees the queue of their station. `home` is the data folder, the only place crops are
    served from; `hosts` the host names answered besides 127.0.0.1 and localhost."""
    import junkai.reconcile  # noqa: F401  imported now, not by the first decision (it holds the rules)
    import junkai.validate  # noqa: F401

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    env.filters["shown"] = _shown
    # a new member's or contact's values are corrected as one line: 氏名=… / フリガナ=…
    env.filters["editable"] = lambda item: (row_text(item["guess"] or {}, item["field"]) if item["kind"] == "row"
                                            else _shown(item["guess"]))
    # the page needs of the settings only the data folder; the store is the one it was given
    started = Context(Settings(home=home.resolve(), db_url=store.url, config_path=None), store, "")
    sessions: dict[str, Session] = {}

    def render(template: str, status: int = 200, **values) -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        html = env.get_template(template).render(nonce=nonce, **values)
        return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": _csp(nonce)})

    def session_of(request: Request) -> Session | None:
        token = request.cookies.get(SESSION_COOKIE, "")
        s = sessions.get(token)
        now = time.monotonic()
        if s is None or not s.alive(now):
            sessions.pop(token, None)
            return None
        s.seen = now
        return s

    def queue_of(name: str) -> tuple[str, str] | None:
        """The page's queue, or the station of the user's review grants (the whole store's if it is
        theirs alone): another station's items are not even listed."""
        if scope is not None:
            return scope
        with store.transaction():
            able = {g["station_id"] for g in store.users(name, active_only=True)
                    if g["role"] in access.ACTIONS["review"][1]}
            stations = store.station_ids()
        if len(able) == 1 and None not in able and stations != list(able):
            return ("station", next(iter(able)))
        return None

    def page(s: Session, item: dict | None, error: str | None = None, typed: str | None = None,
             status: int = 200) -> HTMLResponse:
        return render("review.html.j2", status, item=item, error=error, typed=typed, token=s.csrf, operator=s.name, R=R,
                      progress=review.progress(started, queue_of(s.name)), address=item["address"] if item else None)

    def not_found() -> HTMLResponse:
        return render("review_error.html.j2", 404, title="見つかりません",
                      message="指定された項目または画像はありません。")

    def to_login() -> Response:
        return RedirectResponse("/login", 303)

    def forged() -> HTMLResponse:
        return render("review_error.html.j2", 403, title="不正な送信です",
                      message="この画面から送られたものではありません。画面を開き直してください。")

    async def authenticated_form(request: Request) -> tuple[Session, FormData] | Response:
        """A POST's session and form, or the answer instead: to the login page without a live session,
        refused when the form does not carry the session's own token."""
        s = session_of(request)
        if s is None:
            return to_login()
        form = await request.form()
        if not secrets.compare_digest(str(form.get("token", "")), s.csrf):
            return forged()
        return s, form

    def ctx(s: Session) -> Context:
        return replace(started, operator=s.name)

    def undoable(s: Session) -> list[dict]:
        """What 取り消す takes back: the operator's decisions on their last card, of this working day."""
        return review.last_card(ctx(s), datetime.now() - timedelta(hours=SESSION_HOURS))

    def after(s: Session, item_id: int) -> Response:
        nxt = review.next_pending(started, item_id, queue_of(s.name))
        return RedirectResponse(f"/item/{nxt}" if nxt else "/", 303)

    async def index(request: Request) -> Response:
        s = session_of(request)
        if s is None:
            return to_login()
        nxt = review.next_pending(started, 0, queue_of(s.name))
        if nxt:
            return RedirectResponse(f"/item/{nxt}", 303)
        try:
            review.queue(ctx(s), queue_of(s.name))
        except access.Refused as exc:
            return page(s, None, str(exc), status=403)
        return page(s, None)

    async def show(request: Request) -> Response:
        s = session_of(request)
        if s is None:
            return to_login()
        item_id = int(request.path_params["id"])
        try:
            review.may_review(ctx(s), item_id)
            with store.transaction():
                raw = store.review_item(item_id)
            if raw["status"] == "pending" and not R.structural(raw):
                return card_page(s, review.card(ctx(s), item_id))  # the card it was read from
            item = review.show(ctx(s), item_id)
        except access.Refused as exc:
            return page(s, None, str(exc), status=403)
        except JunkaiError:
            return not_found()
        return page(s, item)

    def card_page(s: Session, card: dict, errors: dict | None = None, typed: dict | None = None,
                  status: int = 200) -> HTMLResponse:
        return render("review_card.html.j2", status, card=card, errors=errors or {}, typed=typed or {},
                      token=s.csrf, operator=s.name, progress=review.progress(started, queue_of(s.name)),
                      undo=R.decided_words(mine) if (mine := undoable(s)) else None, R=R,
                      rows=_row_fields)

    async def post_card(request: Request) -> Response:
        """The card's form: each value taken as typed, rejected with its reason, or left (empty: never taken)."""
        got = await authenticated_form(request)
        if isinstance(got, Response):
            return got
        s, form = got
        item_id = int(request.path_params["id"])
        try:
            card = review.card(ctx(s), item_id)
        except access.Refused as exc:
            return page(s, None, str(exc), status=403)
        except JunkaiError:
            return not_found()
        if form.get("action") == "skip":
            last = max(i["id"] for i in card["values"] + card["structural"] + card["decided"])
            nxt = review.next_pending(started, last, queue_of(s.name))
            return RedirectResponse(f"/item/{nxt}" if nxt else "/", 303)
        errors, typed, done = {}, {}, []
        t0 = time.perf_counter()
        for item in card["values"]:
            key = str(item["id"])
            why = str(form.get(f"why{key}", "")).strip()
            if item["kind"] == "row":
                value = {k: str(form.get(f"v{key}.{k}", "")).strip() for k in _row_fields(item)}
                value = {k: v for k, v in value.items() if v}
                typed[key] = value
            else:
                value = str(form.get(f"v{key}", "")).strip()
                typed[key] = value
            if not why and not value:
                errors[key] = "未入力です (読み取りのままなら「読み取りを採用」、取り込まないなら却下の理由を入力)"
                continue
            try:
                if why:
                    review.decide(ctx(s), item["id"], "reject", reason=why)
                else:
                    review.decide(ctx(s), item["id"], "correct", value=value,
                                  complaint=form.get(f"c{key}") == "on")
            except access.Refused as exc:
                return page(s, None, str(exc), status=403)
            except JunkaiError as exc:
                errors[key] = str(exc)
                continue
            done.append(item["id"])
        per = (time.perf_counter() - t0) / max(len(done), 1)
        timing = {"Server-Timing": f'decide;dur={per * 1000:.1f};desc="{len(done)}"'}
        if errors:
            card = review.card(ctx(s), item_id) if done else card
            card["values"] = [i for i in card["values"] if str(i["id"]) in errors] or card["values"]
            response = card_page(s, card, errors, typed, 422)
            response.headers.update(timing)
            return response
        response = after(s, max(done) if done else item_id)
        response.headers.update(timing)
        return response

    async def post_undo(request: Request) -> Response:
        """取り消す: the operator's decisions on the card they decided last (read from the store, so a restart
        of the page keeps them) taken back, each through the checked, audited action."""
        got = await authenticated_form(request)
        if isinstance(got, Response):
            return got
        s, _ = got
        ids, why = [i["id"] for i in undoable(s)], []
        for item_id in ids:  # each on its own: one that cannot be taken back leaves the others undone
            try:
                review.undo(ctx(s), item_id)
            except access.Refused as exc:
                return page(s, None, str(exc), status=403)
            except JunkaiError as exc:
                why.append(str(exc))  # still decided: still offered, to be tried again
        if why:
            return render("review_error.html.j2", 422, title="取り消せない判断があります",
                          message="ほかの判断は取り消しました。" + " / ".join(dict.fromkeys(why)) +
                          "。取り消せなかった判断は「取り消す」に残っています")
        return RedirectResponse(f"/item/{min(ids)}" if ids else "/", 303)

    async def post(request: Request) -> Response:
        got = await authenticated_form(request)
        if isinstance(got, Response):
            return got
        s, form = got
        item_id = int(request.path_params["id"])
        action = form.get("action", "correct")
        try:
            if action == "skip":
                review.may_review(ctx(s), item_id)
                return after(s, item_id)
            if action == "correct" and form.get("confirmed") != form.get("value"):
                # which premises a card is: its address shown before a premises other than the one shown is taken
                chosen = review.choose(ctx(s), item_id, form.get("value"))
                if chosen is not None and chosen["guess"] != chosen["chosen"]:
                    return page(s, chosen, f"各戸 {chosen['chosen']} ({chosen['chosen_address']}) のカードとして"
                                "採用します。よければもう一度 Enter を押してください", form.get("value"))
            review.decide(ctx(s), item_id, action, value=form.get("value"), reason=form.get("reason"),
                          complaint=form.get("complaint") == "on", how=form.get("as") or None)
        except access.Refused as exc:
            return page(s, None, str(exc), status=403)
        except JunkaiError as exc:
            try:
                return page(s, _item(s, item_id), str(exc), form.get("value"), 422)
            except JunkaiError:
                return not_found()
        return after(s, item_id)

    def _item(s: Session, item_id: int) -> dict:
        """The item again beside a decision that failed (its operator may review it: just checked)."""
        with store.transaction():
            return review.offered(ctx(s), review.with_address(store, store.review_item(item_id)))

    async def crop(request: Request) -> Response:
        # only images inside the data folder are served, and only to whom the item is
        s = session_of(request)
        if s is None:
            return to_login()
        try:
            path = review.crop(ctx(s), int(request.path_params["id"]))
        except JunkaiError:  # unknown, or refused (and audited): no image, and no word of whose it is
            return not_found()
        return FileResponse(path) if path else not_found()

    def login_page(error: str | None = None, name: str = "", status: int = 200) -> Response:
        # the login form's own token, in a cookie too: another site cannot log the browser in as someone
        token = secrets.token_urlsafe(32)
        response = render("review_login.html.j2", status, token=token, error=error, name=name)
        response.set_cookie(LOGIN_COOKIE, token, max_age=900, path="/", httponly=True, samesite="strict")
        return response

    async def login_form(request: Request) -> Response:
        return RedirectResponse("/", 303) if session_of(request) else login_page()

    async def login(request: Request) -> Response:
        form = await request.form()
        if not secrets.compare_digest(str(form.get("token", "")), request.cookies.get(LOGIN_COOKIE, "") or "-"):
            return forged()
        name = str(form.get("name", "")).strip()
        try:
            L.login(started, name, str(form.get("secret", "")))
        except L.LoginFailed as exc:
            return login_page(str(exc), name, 401)
        now = time.monotonic()
        for t in [t for t, s in sessions.items() if not s.alive(now)] + [request.cookies.get(SESSION_COOKIE, "")]:
            sessions.pop(t, None)
        token = secrets.token_urlsafe(32)  # a new one at each login, never one the browser brought
        sessions[token] = Session(name)
        response = RedirectResponse("/", 303)
        # Secure when a TLS reverse proxy says so (uvicorn believes it from 127.0.0.1 only)
        response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_HOURS * 3600, path="/", httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    async def logout(request: Request) -> Response:
        got = await authenticated_form(request)
        if isinstance(got, Response):
            return got
        s, _ = got
        sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        L.logout(ctx(s))
        response = RedirectResponse("/login", 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def missing(request: Request, exc) -> Response:
        return not_found()

    async def failed(request: Request, exc: Exception) -> Response:
        # the browser gets a plain page; what went wrong goes to the server's log only
        log.error("確認画面の要求 %s %s が失敗しました", request.method, request.url.path, exc_info=exc)
        return render("review_error.html.j2", 500, title="処理できませんでした",
                      message="内部のエラーです。管理者に連絡してください (詳しい内容はサーバの記録にあります)。")

    app = Starlette(routes=[
        Route("/", index), Route("/item/{id:int}", show), Route("/item/{id:int}", post, methods=["POST"]),
        Route("/card/{id:int}", post_card, methods=["POST"]), Route("/undo", post_undo, methods=["POST"]),
        Route("/crop/{id:int}", crop), Route("/login", login_form), Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ], middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=[*LOCAL_HOSTS, *hosts])],
        exception_handlers={404: missing, 405: missing, Exception: failed})
    return SecurityHeaders(app)  # outermost: the error page of the last resort gets the headers too
