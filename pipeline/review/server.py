"""The workbench's web server: one page and the small JSON API it uses (docs/review.md).

Secure by default, since transcripts are personal data:

* every request needs the project's token (``Authorization: Bearer TOKEN`` or
  ``?token=TOKEN``), pages, scripts and API alike; no cookie is ever set, so a browser
  never sends the token on its own and another site cannot forge a request (CSRF);
  requests that change something must also come from the page's own origin when the
  browser names one;
* the ``Host`` header must name the address the server was started on (a page of another
  site that makes its name resolve to 127.0.0.1 — DNS rebinding — is refused);
* every text is escaped (the page sets ``textContent``, never HTML), the Content Security
  Policy allows scripts and styles from the server alone, and every file served is one of
  a fixed list from the package (no path from a request is opened);
* request bodies are limited to :data:`MAX_BODY` bytes.
"""

from __future__ import annotations

import hmac
import io
import json
import subprocess
import sys
import threading
from importlib.resources import files
from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from pipeline.core.errors import AutocodeError
from pipeline.review.store import Project, ReviewError

MAX_BODY = 64 * 1024
RETRAIN_EVERY = 25
STATIC = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_PACKAGE = files("pipeline.review") / "static"


def _resource(name: str) -> str:
    return (_PACKAGE / name).read_text(encoding="utf-8")


_PAGE = jinja2.Environment(loader=jinja2.FunctionLoader(_resource), autoescape=True, undefined=jinja2.StrictUndefined)


class Trainer:
    """Starts the background worker (:mod:`pipeline.review.worker`) when enough new
    decisions have come in, or on request; at most one at a time."""

    def __init__(self, project: Project, *, every: int = RETRAIN_EVERY):
        self.project = project
        self.every = every
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, model_id: int, *, train: bool) -> None:
        row = self.project.model_row(model_id)
        log = self.project.folder / "models" / f"{Path(row['path']).name}.log"
        log.parent.mkdir(exist_ok=True)
        with open(log, "ab") as out:
            # A session of its own: Ctrl-C in the server's terminal does not kill a training
            # half-way; a killed server leaves it to finish, and the restarted one finds its model.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pipeline.review.worker", str(self.project.folder), str(model_id)] + (["--train"] if train else []),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )

    def maybe(self, *, force: bool = False) -> int | None:
        """Start a training if due (``force``: now); returns the new model's id, or None."""
        with self.lock:
            self.running()  # reaps a worker that has ended
            # The database says whether a model is under way (the worker marks it ready or
            # failed before its process ends).
            if self.project.busy_model() is not None:
                return None
            done = self.project.decision_count()
            last = self.project.con.execute("SELECT MAX(decisions) FROM models WHERE origin = 'trained'").fetchone()[0] or 0
            if not force and done - last < self.every:
                return None
            if self.project.decision_count(source=None) == 0:  # on request, imported hand codes are enough
                return None
            n = self.project.con.execute("SELECT COUNT(*) FROM models WHERE origin = 'trained'").fetchone()[0] + 1
            model_id = self.project.add_model(f"models/v{n}", name=f"v{n}", origin="trained", status="training", decisions=done)
            self.start(model_id, train=True)
            return model_id


def agreement_page(project: Project, *, assisted: bool, lang: str) -> str:
    """The agreement report's HTML for the project's coders, saying how many assisted
    decisions it left out."""
    import warnings

    from pipeline.agreement.assess import assess_coded
    from pipeline.agreement.units import load_coded_units
    from pipeline.reports.agreement import render_html
    from pipeline.text.project import project_codes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the count of assisted decisions is in the title
        units = load_coded_units([project.folder], codebook=project.codebook, assisted=assisted)
    found = project_codes(project.folder, assisted=assisted)
    if lang == "de":
        note = ("alle Entscheidungen" if assisted else
                f"nur blinde Entscheidungen ({found.assisted_left_out} von {found.decisions} mit Vorschlägen getroffen, nicht gezählt)")
    else:
        note = ("all decisions" if assisted else
                f"blind decisions only ({found.assisted_left_out} of {found.decisions} made with proposals shown, not counted)")
    return render_html(assess_coded(units), title=f"{project.codebook.name or project.folder.name} – {note}", lang=lang)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _flag(value: str | None, name: str) -> bool:
    if value in (None, "", "0", "false"):
        return False
    if value in ("1", "true"):
        return True
    raise ReviewError(f"{name} must be 0 or 1, found {value!r}.")


def create_app(project: Project, *, host: str = "127.0.0.1", port: int = 0, lang: str = "de",
               retrain_every: int = RETRAIN_EVERY, allowed_hosts: tuple[str, ...] | None = None) -> Starlette:
    """The ASGI application serving ``project``.

    Args:
        host, port: Where it listens (for the ``Host`` check; ``port`` may be set later
            through ``app.state.port`` when the socket is bound).
        lang: The page's language, ``de`` or ``en``.
        retrain_every: New decisions after which a model is trained in the background.
        allowed_hosts: Host names accepted in the ``Host`` header (default: the host and
            ``localhost``/``127.0.0.1``; ``("*",)`` accepts any).
    """
    trainer = Trainer(project, every=retrain_every)
    token = project.token.encode()

    def authorised(request: Request) -> bool:
        given = request.query_params.get("token", "")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            given = header[7:].strip()
        return hmac.compare_digest(given.encode(), token)

    def host_ok(request: Request) -> bool:
        names = allowed_hosts or (host, "localhost", "127.0.0.1", "[::1]")
        if "*" in names:
            return True
        value = request.headers.get("host", "")
        name, _, given_port = value.rpartition(":") if not value.endswith("]") else (value, "", "")
        return name in names and given_port == str(request.app.state.port)

    def refusal(request: Request) -> JSONResponse | None:
        """Why a request is refused before it reaches a route, or None."""
        if not host_ok(request):
            return _error(403, "this server answers only at the address it printed (Host header refused).")
        if not authorised(request):
            return _error(401, "missing or wrong token: open the address 'autocode review' printed, with its ?token=.")
        if request.method == "POST":
            origin = request.headers.get("origin")
            if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host')}":
                return _error(403, f"a request from another site ({origin}) is refused.")
            try:
                length = int(request.headers.get("content-length") or 0)
            except ValueError:
                return _error(400, "Content-Length is not a number.")
            if length > MAX_BODY:
                return _error(413, f"request body over {MAX_BODY} bytes.")
        return None

    async def body(request: Request) -> dict:
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY:
                raise ReviewError(f"request body over {MAX_BODY} bytes.")
        try:
            data = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise ReviewError("expected a JSON object as the request body.") from None
        if not isinstance(data, dict):
            raise ReviewError(f"expected a JSON object as the request body, found {type(data).__name__}.")
        return data

    def view(segment: str | None, coder: str, blind: bool) -> dict:
        if segment is None:
            return {"segment": None}
        return project.view(segment, coder, blind=blind)

    async def page(request: Request) -> Response:
        strings = json.loads(_resource(f"texts_{lang}.json"))
        codes = [{"id": c.id, "name": c.name, "parent": c.parent, "definition": c.definition, "anchors": list(c.anchors)}
                 for c in project.codebook.codes]
        html = _PAGE.get_template("page.html.j2").render(
            lang=lang, token=project.token, strings=strings, codes=codes, leaf=list(project.codes),
            title=project.codebook.name or project.folder.name, retrain_every=retrain_every,
        )
        return Response(html, media_type="text/html; charset=utf-8")

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return _error(404, "no such file.")
        return Response(_resource(name), media_type=STATIC[name])

    async def next_segment(request: Request) -> Response:
        q = request.query_params
        coder, blind = q.get("coder", ""), _flag(q.get("blind"), "blind")
        return JSONResponse(view(project.next_segment(coder, q.get("queue", "document"), blind=blind), coder, blind))

    async def segment(request: Request) -> Response:
        q = request.query_params
        coder, blind = q.get("coder", ""), _flag(q.get("blind"), "blind")
        from pipeline.review.store import check_coder

        return JSONResponse(view(project.segment(q.get("id", ""))["id"], check_coder(coder), blind))

    async def decisions(request: Request) -> Response:
        data = await body(request)
        shown = data.get("proposals_shown")
        if not isinstance(shown, bool):
            raise ReviewError(f"proposals_shown must be true or false, found {shown!r}.")
        action = "skip" if data.get("skip") is True else "code"
        queue = str(data.get("queue", "document"))
        decision = project.decide(str(data.get("segment", "")), str(data.get("coder", "")), data.get("codes", []),
                                  proposals_shown=shown, model=data.get("model"), queue=queue, action=action)
        trainer.maybe()
        coder = str(data["coder"])
        blind = bool(data.get("blind", not shown))
        out = {"decision": decision}
        if data.get("next", True):
            # What the page shows next: the next segment and the coder's history (one request).
            out["next"] = view(project.next_segment(coder, queue, blind=blind), coder, blind)
            out["history"] = project.history(coder)
        return JSONResponse(out, status_code=201)

    async def undo(request: Request) -> Response:
        data = await body(request)
        coder = str(data.get("coder", ""))
        undone = project.undo(coder)
        blind = bool(data.get("blind", False))
        return JSONResponse({"undone": undone, "next": view(undone and undone["segment"], coder, blind)})

    async def history(request: Request) -> Response:
        from pipeline.review.store import check_coder

        return JSONResponse({"history": project.history(check_coder(request.query_params.get("coder", "")))})

    async def codings(request: Request) -> Response:
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in project.units())
        return PlainTextResponse(text, media_type="application/x-ndjson; charset=utf-8")

    async def status(request: Request) -> Response:
        trainer.running()  # reaps a finished worker
        return JSONResponse({**project.status(), "retrain_every": retrain_every})

    async def train(request: Request) -> Response:
        await body(request)
        started = trainer.maybe(force=True)
        return JSONResponse({"started": started, **project.status()}, status_code=202 if started else 200)

    async def audit(request: Request) -> Response:
        import csv

        rows = project.audit()
        buf = io.StringIO()
        fields = ["model", "model_name", "code", "decisions", "unchanged", "accepted", "rejected", "added", "precision"]
        writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return PlainTextResponse(buf.getvalue(), media_type="text/csv; charset=utf-8")

    async def agreement(request: Request) -> Response:
        """The agreement report of the project's coders (blind decisions only unless
        ``assisted=1``): the page ``autocode agreement PROJECT --report`` writes."""
        from starlette.concurrency import run_in_threadpool

        html = await run_in_threadpool(agreement_page, project, assisted=_flag(request.query_params.get("assisted"), "assisted"),
                                       lang=lang)
        # The report is self-contained: inline styles, no script at all.
        return Response(html, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"})

    routes = [
        Route("/", page),
        Route("/static/{name}", static),
        Route("/api/next", next_segment),
        Route("/api/segment", segment),
        Route("/api/decisions", decisions, methods=["POST"]),
        Route("/api/undo", undo, methods=["POST"]),
        Route("/api/history", history),
        Route("/api/codings", codings),
        Route("/api/status", status),
        Route("/api/train", train, methods=["POST"]),
        Route("/api/audit.csv", audit),
        Route("/agreement", agreement),
    ]
    async def bad_request(request: Request, exc: Exception) -> Response:
        return _error(400 if isinstance(exc, ReviewError) else 422, str(exc))

    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, refusal=refusal)],
        exception_handlers={ReviewError: bad_request, AutocodeError: bad_request},
    )
    app.state.port = port
    app.state.trainer = trainer
    return app


class Guard:
    """ASGI middleware: every request passes :func:`create_app`'s checks before any route
    sees it, and every response carries :data:`SECURITY_HEADERS`."""

    def __init__(self, app, *, refusal):
        self.app = app
        self.refusal = refusal

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_secured(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS.items():
                    headers.setdefault(key, value)  # a route may set a stricter policy of its own
            await send(message)

        refused = self.refusal(Request(scope))
        if refused is not None:
            return await refused(scope, receive, send_secured)
        await self.app(scope, receive, send_secured)
