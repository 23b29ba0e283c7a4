"""Writing a new config file (`~/.metagpt/config2.yaml`): never over an existing file, never through a file
where the folder should be, and every failure a ConfigError naming the path and the fix — not a traceback.

The content is the caller's business; a config built from data is emitted with `yaml.safe_dump`, never
pasted into an f-string (a value holding a newline would write keys of its own).
"""

from __future__ import annotations

from pathlib import Path

from devteam.core.errors import ConfigError


def write_new_config(path: Path, data: bytes) -> Path:
    """Create `path` (and its folder) holding `data`; a ConfigError when it exists or cannot be made."""
    folder = path.parent
    if (folder.exists() or folder.is_symlink()) and not folder.is_dir():
        raise ConfigError(
            f"{folder} is a file, not a folder, so {path.name} cannot be written in it; "
            f"move {folder} away (or name a config with --config PATH)"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with path.open("xb") as out:  # exclusive: never over a file made meanwhile
            out.write(data)
    except FileExistsError:
        if path.exists() or path.is_symlink():
            raise ConfigError(f"{path} already exists and was left untouched; edit it, or move it away first") from None
        raise ConfigError(f"cannot create the folder {folder}: a file is in the way; move it away") from None
    except OSError as error:
        raise ConfigError(f"cannot write {path} ({error.strerror or error}); check that folder's permissions") from None
    return path
