"""The API's OpenAPI schema, ``GET /api/openapi.json``: for a signed-in user or a valid
bearer token of any scope (401 otherwise), so that the routes and fields of the API are
not told to anyone who asks. There is no docs page (``docs_url=None``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from teiten.incidents.models import User
from teiten.web.auth import any_token, session_user
from teiten.web.context import WebContext, web

__all__ = ["router"]

router = APIRouter()


@router.get("/api/openapi.json", include_in_schema=False)
def openapi(request: Request, user: User | None = Depends(session_user),
            ctx: WebContext = Depends(web)) -> JSONResponse:
    if user is None:
        any_token(request, ctx)  # 401 without a valid token
    return JSONResponse(request.app.openapi())
