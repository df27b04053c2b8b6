"""/api/v1: FastAPI, mounted into the Streamlit server (ui/server.py) so that one process, one port
and one proxy rule serve both. Each call opens its own connection, checks the bearer token and
the client's rate, and then calls survey/ with the client's Actor: the same permission checks and
audit rows as the pages. Errors are RFC 9457 problem documents with a Chinese title."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from sqlite_utils import Database
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from api import models
from survey import db as store
from survey.access import clients
from survey.access.actor import Actor
from survey.companies import exchange as companies
from survey.companies.registry import FIELDS
from survey.companies.transfer import ImportRejectedError
from survey.errors import (
    AuthError,
    InUseError,
    LimitError,
    NotFoundError,
    PermissionDeniedError,
    SurveyError,
    ValidationError,
)
from survey.notify import webhooks
from survey.notify.messages import problem_link
from survey.problems import exchange, intake
from survey.problems.register import TRANSITIONS
from survey.reports import figures
from survey.reports.periods import Filters

log = logging.getLogger("zhy.api")
MAX_BODY = 8 * 1024 * 1024  # five photos in base64 fit; more is refused before it is read
MAX_ID = 2**63 - 1  # the largest integer either store holds: a larger id is refused, not looked up
PROBLEM_JSON = "application/problem+json"
FIELD_COLUMNS = {f.header: f.column for f in FIELDS}  # the import names a row's field by header
# survey's field names for a company -> the request's (company.<name>)
COMPANY_FIELDS = {
    "uscc": "uscc",
    "name": "name",
    "company_name": "name",
    "district_code": "district_code",
    "sector_code": "sector_code",
}
TITLES = {
    400: "请求有误",
    401: "未认证",
    403: "无权访问",
    404: "未找到",
    405: "不支持的请求方法",
    409: "冲突",
    413: "请求内容过大",
    422: "请求内容有误",
    429: "请求过于频繁",
    500: "服务器内部错误",
}


def _doc(status: int, description: str) -> dict:
    return {
        "model": models.Problem,
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


ERRORS = {
    400: _doc(400, "请求内容无法解析（不是 UTF-8 的 JSON）"),
    401: _doc(401, "令牌缺失、无效或已停用")
    | {"headers": {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}}},
    403: _doc(403, "令牌的权限不包括这项操作"),
    413: _doc(413, "请求内容超过 8 MB"),
    422: _doc(422, "参数或请求内容有误，field 指出字段"),
    429: _doc(429, "超过每分钟请求上限，Retry-After 给出等待秒数"),
}


def _link(name: str, operation: str, **parameters: str) -> dict:
    """An OpenAPI link from an answer to the operation that reads what it made (clients and
    schemathesis's stateful phase follow it). Operation ids are FastAPI's: function, path, method."""
    ids = {
        "get_problem": "get_problem_problems__problem_id__get",
        "get_company": "get_company_companies__uscc__get",
    }
    return {"links": {name: {"operationId": ids[operation], "parameters": parameters}}}


def _query_names(dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for inner in dependant.dependencies:
        names |= _query_names(inner)
    return names


def no_unknown_query(request: Request) -> None:
    """Refuse a query parameter the operation does not take: a misspelt filter would otherwise
    be ignored and the caller would read more than it asked for."""
    route = request.scope.get("route")
    known = _query_names(route.dependant) if route else set()
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise ValidationError(f"不认识的查询参数“{unknown[0]}”。", unknown[0])


api = FastAPIOffline(
    title="镇合意·惠企走访 API",
    version="1.0.0",
    description=(
        "供 12345 热线、政务服务平台和省市平台等系统调用：报送问题、读取问题及其办理过程、"
        "按游标读取变更记录。每个请求须带 `Authorization: Bearer <令牌>`；令牌由管理员在"
        "“接口客户端”页面创建，只显示一次。错误以 RFC 9457 问题文档（application/problem+json）返回。"
    ),
    openapi_url="/openapi.json",
    docs_url="/docs",
    redoc_url=None,
    responses=ERRORS,
    dependencies=[Depends(no_unknown_query)],
    redirect_slashes=False,  # /companies/ is no address of ours (404), not a redirect to one
)
bearer = HTTPBearer(auto_error=False, description="管理员创建客户端时显示的令牌（zhy_ 开头）")


class ApiError(Exception):
    def __init__(self, status: int, detail: str, headers: dict | None = None):
        self.status, self.detail, self.headers = status, detail, headers or {}


def problem(status: int, detail: str | None, field: str | None = None, headers=None):
    body = {"type": "about:blank", "title": TITLES.get(status, "错误"), "status": status}
    body |= {"detail": detail, "field": field}
    if status == 401:  # RFC 9110: a 401 names the scheme to authenticate with
        headers = {"WWW-Authenticate": "Bearer"} | (headers or {})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


@api.exception_handler(ApiError)
async def _api_error(request: Request, exc: ApiError):
    return problem(exc.status, exc.detail, headers=exc.headers)


@api.exception_handler(SurveyError)
async def _survey_error(request: Request, exc: SurveyError):
    status = {
        ValidationError: 422,
        PermissionDeniedError: 403,
        NotFoundError: 404,
        AuthError: 401,
        InUseError: 409,
        LimitError: 409,
    }.get(type(exc), 422)
    return problem(status, str(exc), getattr(exc, "field", None))


@api.exception_handler(RequestValidationError)
async def _bad_request(request: Request, exc: RequestValidationError):
    first = exc.errors()[0] if exc.errors() else {}
    where = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    field = ".".join(where) or None
    words = {
        "missing": "缺少这个字段",
        "extra_forbidden": "不认识这个字段",
        "string_too_short": "不能为空",
        "string_too_long": "过长",
        "too_long": "项数过多",
        "literal_error": "取值不在允许的范围内",
        "date_from_datetime_parsing": "应为日期 YYYY-MM-DD",
        "date_parsing": "应为日期 YYYY-MM-DD",
        "date_from_datetime_inexact": "应为日期 YYYY-MM-DD",
        "int_parsing": "应为整数",
        "greater_than_equal": "超出范围（过小）",
        "less_than_equal": "超出范围（过大）",
        "json_invalid": "不是有效的 JSON",
        "model_attributes_type": "应为 JSON 对象",
        "dict_type": "应为 JSON 对象",
        "list_type": "应为数组",
        "string_type": "应为字符串",
    }
    kind = first.get("type", "")
    message = words.get(kind, f"格式不正确（{kind}）")
    return problem(422, f"{field or '请求'}：{message}", field)


@api.exception_handler(StarletteHTTPException)
async def _http_error(request: Request, exc: StarletteHTTPException):
    detail = {
        400: "请求内容无法解析：应为 UTF-8 编码的 JSON。",
        404: "没有这个接口地址。",
        405: "这个地址不支持该请求方法。",
    }.get(exc.status_code)
    headers = exc.headers
    if exc.status_code == 405:  # every method of the path (Starlette names only one route's)
        allowed = set()
        for route in api.routes:
            if route.matches(request.scope)[0] != Match.NONE:
                allowed |= set(getattr(route, "methods", None) or ())
        headers = {"Allow": ", ".join(sorted(allowed - {"HEAD"}))}
    return problem(exc.status_code, detail or str(exc.detail), headers=headers)


@api.exception_handler(Exception)
async def _crash(request: Request, exc: Exception):
    log.exception("API error on %s %s", request.method, request.url.path)
    return problem(500, "请求未能完成，已记录错误；请稍后重试或联系管理员。")


@contextmanager
def _as_client(
    credentials: HTTPAuthorizationCredentials | None,
) -> Iterator[tuple[Database, Actor]]:
    """The database and the calling client's Actor; 401 without a valid token, 429 over the rate."""
    with store.opened() as db:
        client = clients.authenticate(db, credentials.credentials if credentials else None)
        if client is None:
            raise ApiError(401, "请在 Authorization 头中提供有效的令牌：Bearer zhy_…")
        wait = clients.count_call(db, client)
        if wait:
            raise ApiError(
                429,
                f"每分钟最多 {client.per_minute} 次请求，请 {wait} 秒后再试。",
                {"Retry-After": str(wait)},
            )
        yield db, client.actor()


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _cursor(text: str | None, name: str) -> int:
    if not text:
        return 0
    if not re.fullmatch(r"[0-9]{1,18}", text):  # str.isdigit() also takes '²' and '①'
        raise ValidationError(f"{name} 无效：请使用上一页答复中的值。", name)
    return int(text)


@api.get("/problems", response_model=models.ProblemPage, summary="问题列表（按编号分页）")
def list_problems(
    credentials: Credentials,
    status: Annotated[list[str], Query(description="状态，可多选")] = [],  # noqa: B006
    source: Annotated[list[str], Query(description="来源，可多选")] = [],  # noqa: B006
    sector: Annotated[str | None, Query(max_length=20)] = None,
    department: Annotated[str | None, Query(max_length=20, description="牵头部门代码")] = None,
    raised_from: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
    raised_to: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=exchange.MAX_PAGE)] = 100,
):
    filters = exchange.ProblemFilter(
        tuple(status), tuple(source), sector, department, raised_from, raised_to
    )
    with _as_client(credentials) as (db, actor):
        items, after = exchange.problems_after(db, actor, filters, _cursor(cursor, "cursor"), limit)
    return {"items": items, "next_cursor": None if after is None else str(after)}


@api.get(
    "/problems/{problem_id}",
    response_model=models.ProblemDetail,
    summary="一个问题及其办理过程",
    responses={404: _doc(404, "问题不存在，或不在令牌的数据范围内")},
)
def get_problem(problem_id: Annotated[int, Path(ge=1, le=MAX_ID)], credentials: Credentials):
    with _as_client(credentials) as (db, actor):
        return exchange.problem_with_timeline(db, actor, problem_id)


@api.post(
    "/problems",
    response_model=models.Created,
    status_code=201,
    summary="报送问题（幂等）",
    description=(
        "同一 Idempotency-Key 再次发送时返回同一个问题和同样的答复，不会重复登记；"
        "同一个键配不同的内容会被拒绝（422）。"
    ),
    responses={201: _link("GetProblem", "get_problem", problem_id="$response.body#/id")},
)
def create_problem(
    body: models.ProblemIn,
    credentials: Credentials,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=128)],
):
    submission = intake.Submission(
        external_ref=body.external_ref,
        source=body.source,
        uscc=body.company.uscc,
        category_code=body.category_code,
        nature_code=body.nature_code,
        description=body.description,
        raised_on=body.raised_on.isoformat() if body.raised_on else None,
        company_name=body.company.name,
        district_code=body.company.district_code,
        sector_code=body.company.sector_code,
        photos=[intake.Photo(p.filename, p.data_base64) for p in body.photos],
    )
    with _as_client(credentials) as (db, actor):
        try:
            received = intake.receive(db, actor, idempotency_key, submission)
        except ValidationError as exc:  # name the company's fields as the request does
            if exc.field in COMPANY_FIELDS:
                raise ValidationError(str(exc), f"company.{COMPANY_FIELDS[exc.field]}") from None
            raise
        link = problem_link(db, received.problem_id)
    return {"id": received.problem_id, "status": received.status, "link": link}


@api.get("/events", response_model=models.EventPage, summary="变更记录（按游标读取）")
def list_events(
    credentials: Credentials,
    after: Annotated[str | None, Query(max_length=20, description="上次答复中的 cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=exchange.MAX_PAGE)] = 100,
):
    with _as_client(credentials) as (db, actor):
        items, cursor = exchange.events_after(db, actor, _cursor(after, "after"), limit)
    return {"items": items, "cursor": str(cursor)}


@api.get(
    "/companies/{uscc}",
    response_model=models.Company,
    summary="按统一社会信用代码查企业",
    responses={404: _doc(404, "没有这家企业，或不在令牌的数据范围内")},
)
def get_company(uscc: Annotated[str, Path(max_length=40)], credentials: Credentials):
    with _as_client(credentials) as (db, actor):
        return companies.company_by_code(db, actor, uscc)


def _batch_doc(description: str) -> dict:
    return {
        "model": models.BatchProblem,
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/BatchProblem"}}},
    }


def _batch_problem(status: int, exc: ImportRejectedError | companies.OutsideScopeError):
    errors = [
        {"row": p["行号"], "field": FIELD_COLUMNS.get(p["字段"], p["字段"]), "message": p["问题"]}
        for p in exc.problems
    ]
    response = problem(status, str(exc), "companies")
    return JSONResponse(
        json.loads(response.body) | {"errors": errors}, status_code=status, media_type=PROBLEM_JSON
    )


@api.post(
    "/companies",
    response_model=models.BatchResult,
    summary="批量新增或更新企业（全部成功或全部不写）",
    description=(
        "按统一社会信用代码新增或更新。每一项只有 uscc 必填：**没有发送的字段保持登记的原值**"
        "（新企业则为空），发送 null 或空字符串才清空；新企业须有 name、district_code 和 "
        "sector_code。限定数据范围（一个部门或一个县（市、区））的客户端只能新增或更新这个范围内的"
        "企业：已登记的企业和发送后的企业都须在范围内（不能接管其他部门或县区的企业，也不能把"
        "本范围的企业移出），否则整批不写，以 403 列出每一项。"
    ),
    responses={
        200: _link("GetCompany", "get_company", uscc="$request.body#/companies/0/uscc"),
        403: _batch_doc("令牌没有这项权限，或有的项不在令牌的数据范围内（errors 列出每一项）"),
        422: _batch_doc("有问题的项（errors 列出每一处），什么也没有写入"),
    },
)
def upsert_companies(body: models.CompanyBatch, credentials: Credentials):
    items = [c.model_dump(exclude_unset=True) for c in body.companies]
    with _as_client(credentials) as (db, actor):
        try:
            return companies.upsert(db, actor, items)
        except companies.OutsideScopeError as exc:
            return _batch_problem(403, exc)
        except ImportRejectedError as exc:
            return _batch_problem(422, exc)


@api.post(
    "/webhooks",
    response_model=models.WebhookCreated,
    status_code=201,
    summary="订阅事件推送",
    description=(
        "每个事件以 POST 推送变更记录中的一条（JSON），带 X-ZHY-Timestamp（Unix 秒）和 "
        'X-ZHY-Signature: sha256=HMAC-SHA256(secret, "<timestamp>.<body>")。推送失败会按退避重试；'
        "请按 X-ZHY-Delivery 去重（至少送达一次）。"
        f"每个客户端最多 {webhooks.MAX_SUBSCRIPTIONS} 个订阅；一个订阅已有 {webhooks.MAX_PENDING} "
        "条待送达时，新事件搁置、不推送（可从 /events 补取）；取消订阅或客户端停用后，"
        "待推送的事件搁置、不再发送。"
    ),
    responses={
        409: _doc(
            409,
            f"本客户端已有 {webhooks.MAX_SUBSCRIPTIONS} 个订阅（上限）：请先取消不再使用的订阅",
        )
    },
)
def create_webhook(body: models.WebhookIn, credentials: Credentials):
    with _as_client(credentials) as (db, actor):
        hook_id, secret = webhooks.subscribe(db, actor, body.url, body.actions, TRANSITIONS)
        [made] = [w for w in webhooks.list_webhooks(db, actor) if w["id"] == hook_id]
    return made | {"secret": secret}


@api.get("/webhooks", response_model=list[models.Webhook], summary="本客户端的订阅")
def list_webhooks(credentials: Credentials):
    with _as_client(credentials) as (db, actor):
        return webhooks.list_webhooks(db, actor)


@api.delete(
    "/webhooks/{webhook_id}",
    status_code=204,
    summary="取消订阅",
    responses={404: _doc(404, "没有这个订阅")},
)
def delete_webhook(webhook_id: Annotated[int, Path(ge=1, le=MAX_ID)], credentials: Credentials):
    with _as_client(credentials) as (db, actor):
        webhooks.unsubscribe(db, actor, webhook_id)
    return Response(status_code=204)


MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
Codes = Annotated[list[str], Query(description="代码，可多选")]


@api.get("/figures", response_model=models.Figures, summary="统计数据（与统计看板一致）")
def get_figures(
    credentials: Credentials,
    start: Annotated[str, Query(alias="from", pattern=MONTH, description="起始月份 YYYY-MM")],
    end: Annotated[str, Query(alias="to", pattern=MONTH, description="结束月份 YYYY-MM")],
    area: Codes = [],  # noqa: B006
    sector: Codes = [],  # noqa: B006
    source: Codes = [],  # noqa: B006
    department: Codes = [],  # noqa: B006
    category: Codes = [],  # noqa: B006
):
    with _as_client(credentials) as (db, actor):
        chosen = Filters(
            start,
            end,
            tuple(area),
            tuple(sector),
            tuple(source),
            tuple(department),
            tuple(category),
        )
        return figures.figures(db, actor, chosen)


class BodyLimit:
    """Pure ASGI: a request body over MAX_BODY is answered 413 before the API sees it: by its
    declared length at once, else (a chunked body) once more than MAX_BODY bytes have come. The
    body is read here and handed on whole; the JSON parser would read all of it anyway, and it
    turns an error raised while it reads into a 400."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_large = problem(413, "请求内容超过 8 MB。")
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
            return await too_large(scope, receive, send)
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client left: nothing to answer
                return
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > MAX_BODY:
                return await too_large(scope, receive, send)
            more = message.get("more_body", False)
        whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        async def replay():
            nonlocal whole
            if whole is None:
                return await receive()  # after the body: wait for the disconnect
            message, whole = whole, None
            return message

        await self.app(scope, replay, send)


class ApiMount(Mount):
    """The API's mount in the server (ui/server.py). Starlette matches a mount's path with `.*`,
    which stops at a line break: a path holding an encoded newline (%0A) fell through to the
    outer app and got its plain-text 404. Here it reaches the API and gets a problem document."""

    def __init__(self, path: str = "/api/v1"):
        super().__init__(path, app=app)
        self.path_regex = re.compile(self.path_regex.pattern, re.DOTALL)


app = BodyLimit(api)
