"""The API's request and response shapes (pydantic), from which the OpenAPI document is built."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["hotline", "portal", "platform"]


class Problem(BaseModel):
    """An RFC 9457 problem document: every error the API answers."""

    type: str = Field("about:blank", description="错误类型")
    title: str = Field(description="中文标题")
    status: int
    detail: str | None = Field(None, description="说明")
    field: str | None = Field(None, description="出错的字段")


class CompanyRef(BaseModel):
    uscc: str = Field(description="统一社会信用代码")
    name: str
    contact_name: str | None = Field(None, description="联系人（仅个人信息权限）")
    contact_phone: str | None = Field(None, description="联系电话（仅个人信息权限）")


class ProblemOut(BaseModel):
    id: int
    status: str
    source: str
    external_ref: str | None = Field(None, description="来源系统的编号")
    category_code: str
    category_name: str
    nature_code: str
    description: str
    raised_on: str
    sector_code: str | None
    district_code: str | None
    lead_department_code: str | None
    deadline_on: str | None
    assigned_at: str | None
    replied_at: str | None
    outcome: str | None
    reply_text: str
    called_back_at: str | None
    satisfaction_level: int | None
    closed_at: str | None
    updated_at: str
    company: CompanyRef | None


class Event(BaseModel):
    id: int
    at: str
    action: str
    from_status: str | None
    to_status: str
    note: str


class FeedEvent(Event):
    problem_id: int


class ProblemDetail(ProblemOut):
    co_departments: list[str]
    timeline: list[Event]


class ProblemPage(BaseModel):
    items: list[ProblemOut]
    next_cursor: str | None = Field(description="下一页的 cursor；null 表示已到末尾")


class EventPage(BaseModel):
    items: list[FeedEvent]
    cursor: str = Field(description="下次从这里继续读取（没有新事件时不变）")


class CompanyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    uscc: str = Field(min_length=1, max_length=40, description="统一社会信用代码（校验位检查）")
    name: str = Field("", max_length=200, description="企业名称（企业未登记时必填）")
    district_code: str = Field("", max_length=20, description="县（市、区）代码（未登记时必填）")
    sector_code: str = Field("", max_length=20, description="行业代码（未登记时必填）")


class PhotoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: str = Field("photo.jpg", max_length=200)
    data_base64: str = Field(min_length=1, description="JPEG 或 PNG，base64")


class ProblemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    external_ref: str = Field(min_length=1, max_length=64, description="来源系统的编号")
    source: Source = Field(description="hotline 12345热线；portal 政务服务；platform 其他平台")
    company: CompanyIn
    category_code: str = Field(min_length=1, max_length=40, description="问题类别代码")
    nature_code: str = Field(min_length=1, max_length=40, description="诉求性质代码")
    description: str = Field(min_length=1, max_length=5000)
    raised_on: date | None = Field(None, description="提出日期，默认今天")
    photos: list[PhotoIn] = Field(default_factory=list, max_length=5)


class Created(BaseModel):
    id: int
    status: str
    link: str = Field(description="问题在本系统中的地址")


class Kpi(BaseModel):
    key: str
    label: str
    value: float | None
    previous: float | None = Field(description="上一个同样长度时段的值")
    kind: Literal["count", "rate", "days"]


class Cell(BaseModel):
    sector_code: str | None
    category_code: str
    problems: int


class Figures(BaseModel):
    start: str
    end: str
    kpis: list[Kpi]
    sector_category: list[Cell]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=500, description="接收推送的地址（http 或 https）")
    actions: list[str] = Field(
        default_factory=lambda: ["*"], min_length=1, max_length=50, description="事件，* 表示全部"
    )


class Webhook(BaseModel):
    id: int
    url: str
    actions: list[str]
    created_at: str


class WebhookCreated(Webhook):
    secret: str = Field(description="签名密钥，只在创建时返回一次")


class Company(BaseModel):
    uscc: str
    name: str
    district_code: str
    park_code: str | None
    sector_code: str
    department_code: str | None
    address: str
    contact_name: str | None = Field(None, description="仅个人信息权限")
    contact_phone: str | None = Field(None, description="仅个人信息权限")
    size: str
    is_above_scale: int
    is_specialized: int
    active: int
    updated_at: str


KEPT = "不发送则保持登记的原值"


class CompanyRecord(BaseModel):
    """One company of a batch. Only uscc is required: a field not sent keeps the stored
    company's value (a new company's is empty); null or "" clears it."""

    model_config = ConfigDict(extra="forbid")
    uscc: str = Field(max_length=40, description="统一社会信用代码（校验位检查）")
    name: str | None = Field(None, max_length=200, description=f"企业名称；新企业必填，{KEPT}")
    district_code: str | None = Field(
        None, max_length=20, description=f"县（市、区）代码；新企业必填，{KEPT}"
    )
    park_code: str | None = Field(None, max_length=20, description=f"园区代码；{KEPT}")
    sector_code: str | None = Field(
        None, max_length=20, description=f"行业代码；新企业必填，{KEPT}"
    )
    department_code: str | None = Field(None, max_length=20, description=f"挂钩部门代码；{KEPT}")
    address: str | None = Field(None, max_length=200, description=KEPT)
    contact_name: str | None = Field(None, max_length=200, description=KEPT)
    contact_phone: str | None = Field(None, max_length=200, description=KEPT)
    size: Literal["", "大型", "中型", "小型", "微型"] | None = Field(None, description=KEPT)
    is_above_scale: bool | None = Field(None, description=f"规上企业；{KEPT}")
    is_specialized: bool | None = Field(None, description=f"专精特新；{KEPT}")


class CompanyBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    companies: list[CompanyRecord] = Field(min_length=1, max_length=5000)


class BatchResult(BaseModel):
    inserted: int
    updated: int
    unchanged: int


class RowError(BaseModel):
    row: int = Field(description="第几项（从 1 起）")
    field: str
    message: str


class BatchProblem(Problem):
    errors: list[RowError] = Field(
        default_factory=list, description="每一处问题（批量内容有误时；请求格式有误时为空）"
    )
