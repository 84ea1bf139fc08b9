"""Type hints of the extension module mfpde._mfpde (python/src/lib.rs)."""

from os import PathLike
from typing import Any, Optional, Union

FORMAT: str
VERSION: str

class ProblemError(ValueError):
    """A problem entry is invalid (the message names the field, the value
    and what is allowed), or the problem does not parse."""

class RunError(RuntimeError):
    """A run stopped by a guard (a negative or NaN density, a collapsing
    step, a step budget)."""

class Interrupted(RuntimeError):
    """A run stopped because it was asked to; a file run's running file
    stays, resumable."""

def toml_of_dict(d: dict[str, Any]) -> str: ...
def toml_value(v: Any) -> str: ...
def canonical(text: str, overrides: list[str], base_dir: str) -> str: ...
def quickstart_toml() -> str: ...
def check(text: str, base_dir: str, force: bool = False) -> dict[str, Any]: ...

class Job:
    """A run of the library on a thread of its own, with its own pool."""

    def __init__(
        self,
        command: str,
        text: str,
        base_dir: str,
        out: Optional[Union[str, PathLike[str]]] = None,
        resume: bool = False,
        threads: int = 0,
        theorems: bool = False,
        plots: bool = False,
        force: bool = False,
        method: str = "newton",
        tol: float = 1e-12,
        m: Optional[list[int]] = None,
        seeds: Optional[int] = None,
        cells: Optional[list[int]] = None,
        jobs: int = 1,
    ) -> None: ...
    def wait(self, timeout: float) -> bool: ...
    def time(self) -> float: ...
    def notes(self) -> list[str]: ...
    def cancel(self) -> None: ...
    def result(self) -> Union[dict[str, Any], str]: ...
