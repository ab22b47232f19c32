"""The plant console: the web application at `/` and its files under `/console/`, and `/me`,
which tells the console who its key belongs to and what that role may do.

The console is plain HTML, CSS and ES modules shipped in the package (`api/http/console/`); there is
no build step. It signs in with an API key kept in the browser tab's session storage.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from api.http.auth import Authenticated
from tools.accounts.accounts import Role
from tools.accounts.permissions import MATRIX, Permission

CONSOLE_DIR = Path(__file__).parents[1] / "console"

router = APIRouter(tags=["console"])

# Checks that paths stay inside the folder, and answers with types, ETags and 304s.
_files = StaticFiles(directory=CONSOLE_DIR)


class Permissions(BaseModel):
    """What the caller's role may do, so the console offers only those controls."""

    read: bool
    control_simulation: bool
    decide_approvals: bool
    manage_keys: bool


class WhoAmI(BaseModel):
    user_id: str
    role: Role
    key_id: str
    may: Permissions
    permissions: list[Permission]


@router.get("/", include_in_schema=False)
async def console() -> FileResponse:
    """The console's page (it asks for an API key before showing anything)."""
    return FileResponse(CONSOLE_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/console/{path:path}", include_in_schema=False)
async def console_file(request: Request, path: str) -> Response:
    """A file of the console (scripts, styles); 404 for anything outside its folder."""
    response = await _files.get_response(path, request.scope)
    response.headers["Cache-Control"] = "no-cache"  # revalidate by ETag after an upgrade
    return response


@router.get("/me", response_model=WhoAmI, summary="Who this API key belongs to")
async def me(who: Authenticated) -> WhoAmI:
    """The key's user, role and the permissions the role holds (any valid key may ask)."""
    held = MATRIX[who.role]
    return WhoAmI(
        user_id=who.user_id,
        role=who.role,
        key_id=who.key_id,
        may=Permissions(
            read=Permission.REPORT_VIEW in held,
            control_simulation=Permission.SIM_CONTROL in held,
            decide_approvals=Permission.AI_APPROVE in held,
            manage_keys=Permission.KEYS_MANAGE in held,
        ),
        permissions=sorted(held),
    )
