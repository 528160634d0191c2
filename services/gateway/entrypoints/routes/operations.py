"""Operators' views: the overview behind the dashboard, the Time Release Study (JSON and CSV), the dashboard."""

import csv
import io
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from pydantic import AwareDatetime

from services.gateway.adapters.study_store import TooManyConsignments
from services.gateway.domain.callers import Caller, Role
from services.gateway.domain.release_study import Dimension
from services.gateway.entrypoints.deps import GatewayDep, allow
from services.gateway.entrypoints.operations_schemas import OperationsOverview, ReleaseStudy, StudyRow
from services.gateway.entrypoints.routes.declarations import PROBLEMS

router = APIRouter(tags=["operations"])
pages = APIRouter(include_in_schema=False)
"""The dashboard's page, script and style: public, they hold no data (listed in `access.PUBLIC`), and not in
the OpenAPI document."""
DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"
CSV = "text/csv"
STUDY_READERS = allow(Role.OPERATOR, Role.OFFICER)
"""Aggregated release times hold no trade data: operators and officers read them."""
DEFAULT_PERIOD = timedelta(days=30)


@router.get(
    "/v1/operations/overview",
    response_model=OperationsOverview,
    responses=PROBLEMS,
    summary="What the operator dashboard shows",
)
async def overview(context: GatewayDep, who: Annotated[Caller, Depends(allow(Role.OPERATOR))]) -> dict[str, Any]:
    """Health of every service and of the broker, throughput, consumer lag, dead letters, the decision mix of
    the last 24 hours by agency, outcome and lane, and the consignments waiting longest and for whom (ids and
    states only: no trade data). Kafka and health figures may be up to `overview_cache_seconds` old."""
    return await context.operations.overview(context.clock())


@router.get(
    "/v1/release-study",
    response_model=ReleaseStudy,
    responses={200: {"content": {CSV: {"schema": {"type": "string"}}}}, **PROBLEMS},
    summary="The Time Release Study of a period (JSON or CSV)",
)
async def release_study(
    context: GatewayDep,
    request: Request,
    who: Annotated[Caller, Depends(STUDY_READERS)],
    since: Annotated[
        AwareDatetime | None, Query(description="Declarations lodged at or after (RFC 3339); default: 30 days ago")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="Declarations lodged before (RFC 3339); default: now")
    ] = None,
    by: Annotated[list[Dimension] | None, Query(description="Dimensions to group by (repeat); default: all")] = None,
    format: Annotated[Literal["json", "csv"] | None, Query(description="csv, or send Accept: text/csv")] = None,
) -> Response | ReleaseStudy:
    """Arrival to lodgement, lodgement to each agency's first decision, lodgement to release and arrival to
    release, for the declarations lodged in the period, with nearest-rank percentiles by lane, agency,
    office and HS chapter, and how many are still waiting at each step. Computed from the records at
    each request, as the WCO Time Release Study measures by hand."""
    end = until or context.clock()
    start = since or end - DEFAULT_PERIOD
    if start >= end:
        raise _invalid("since", f"since ({start.isoformat()}) must be before until ({end.isoformat()})")
    longest = context.settings.release_study_max_days
    if end - start > timedelta(days=longest):
        raise _invalid("since", f"the period must not exceed {longest} days")
    try:
        consignments, summaries = await context.operations.release_study(start, end, by or list(Dimension))
    except TooManyConsignments as exc:
        raise _invalid("since", str(exc)) from exc
    body = ReleaseStudy(since=start, until=end, consignments=consignments, rows=[StudyRow.of(s) for s in summaries])
    if format == "csv" or (format is None and CSV in request.headers.get("accept", "")):
        return Response(_csv(body), media_type=f"{CSV}; charset=utf-8")
    return body


@pages.get("/dashboard", response_class=HTMLResponse)
async def dashboard() -> HTMLResponse:
    """The operator dashboard: a page with no data in it; its script asks for an operator key and reads
    /v1/operations/overview and /v1/release-study with it."""
    return HTMLResponse(_asset("index.html"), headers=_PAGE_HEADERS)


@pages.get("/dashboard/{name}")
async def dashboard_asset(name: Literal["app.js", "style.css"]) -> Response:
    kind = "text/javascript" if name.endswith(".js") else "text/css"
    return Response(_asset(name), media_type=f"{kind}; charset=utf-8", headers=_PAGE_HEADERS)


_PAGE_HEADERS = {
    # Everything comes from this origin: no CDN, no inline script, no framing.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


@cache
def _asset(name: str) -> str:
    return (DASHBOARD / name).read_text(encoding="utf-8")


def _csv(study: ReleaseStudy) -> str:
    out = io.StringIO()
    columns = list(StudyRow.model_fields)
    writer = csv.DictWriter(out, fieldnames=["since", "until", *columns], lineterminator="\n")
    writer.writeheader()
    for row in study.rows:
        values = {name: "" if value is None else value for name, value in row.model_dump(mode="json").items()}
        writer.writerow({"since": study.since.isoformat(), "until": study.until.isoformat(), **values})
    return out.getvalue()


def _invalid(parameter: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("query", parameter), "msg": message, "type": "value_error"}])
