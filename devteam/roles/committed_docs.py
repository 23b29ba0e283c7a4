"""The documents a previous run committed (`docs/prd.json`, `docs/system_design.json`), read back for
`--resume` and `--inc`.

They are files a user may edit by hand, so a document that no longer validates is a clear `WorkspaceError`
naming the file and the way back, never a pydantic traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ValidationError

from devteam.core.errors import WorkspaceError

if TYPE_CHECKING:
    from devteam.workspace.project import ProjectRepo

Doc = TypeVar("Doc", bound=BaseModel)
_ERRORS_SHOWN = 3


def read_committed(repo: ProjectRepo | None, path: str, model: type[Doc]) -> Doc | None:
    """The document at `path` when HEAD holds it (as the working tree has it now); None when never committed."""
    if repo is None or not repo.has_path_committed(path):
        return None
    text = repo.read_text(path)
    if text is None:
        raise WorkspaceError(
            f"{path} is committed in {repo.root} but missing from the folder; restore it with "
            f"git -C {repo.root} checkout -- {path}"
        )
    try:
        return model.model_validate_json(text)
    except ValidationError as invalid:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'the file'}: {error['msg']}"
            for error in invalid.errors()[:_ERRORS_SHOWN]
        )
        more = f" (and {invalid.error_count() - _ERRORS_SHOWN} more)" if invalid.error_count() > _ERRORS_SHOWN else ""
        raise WorkspaceError(
            f"{path} in {repo.root} is not a valid {model.__name__} any more ({problems}{more}). Fix it, or "
            f"restore the committed version with: git -C {repo.root} checkout -- {path}"
        ) from None
