"""msr_engine: loan-level valuation of mortgage servicing rights, from Python.

Every function runs the same job as the ``msr`` command of the same name:
the keyword arguments become that command's flags, parsed by the binary's
own definitions into the same typed arguments, and the same library function
values the book (the native module ``msr_engine._native`` links the Rust
crates directly; nothing is re-implemented here). The job writes its usual
files into ``out`` (a temporary directory unless given); they come back as
Arrow tables and dicts on a :class:`Result`, so the numbers are the CLI's,
bit for bit.

Inputs: a loan tape is a path (Parquet), a ``pyarrow.Table`` or
``RecordBatchReader``, or any object with the Arrow PyCapsule stream
interface (``__arrow_c_stream__``: Polars and pandas >= 2.2 data frames). An
in-memory tape is streamed, batch by batch, into a Parquet file in the run's
scratch directory with pyarrow -- column by column, never through Python
objects. A configuration is a path (TOML), a dict of the TOML keys (merged
over the built-in defaults, as a file would be), or None for the built-in
defaults (MODEL.md section I).

Errors: bad data or a bad value raises :class:`InputError` or
:class:`UsageError` (both ``ValueError``) with the CLI's one-line message,
which names the file, row and column; an argument of the wrong type raises
``TypeError``; an output that cannot be written raises :class:`OutputError`
(an ``OSError``). A run that completes but needs attention (rejected rows
above ``tape.max_reject_share``, non-finite loans: exit 5 of the CLI) returns
its result with ``status == "attention"`` and issues a :class:`DataWarning`.
Ctrl-C stops the job within one chunk of loans, removes its staging
directory and raises ``KeyboardInterrupt``. See docs/python.md.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from . import _native

__all__ = [
    "value",
    "risk",
    "oas",
    "repline",
    "notes",
    "rollforward",
    "validate",
    "Result",
    "MsrError",
    "UsageError",
    "InputError",
    "OutputError",
    "UnreachableError",
    "EngineError",
    "DataWarning",
    "__version__",
]

__version__: str = _native.engine_version()

PathLike = Union[str, "os.PathLike[str]"]
TableLike = Any  # a path, pyarrow.Table / RecordBatchReader, or an __arrow_c_stream__ object
ConfigLike = Union[None, PathLike, Mapping[str, Any]]


class MsrError(Exception):
    """Base of the errors a job raises; ``code`` is the CLI's exit code."""

    code: int = 1

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code

    def __reduce__(self):  # picklable (multiprocessing, joblib)
        return (type(self), (str(self), self.code))


class UsageError(MsrError, ValueError):
    """A bad argument value (exit 2 of the CLI)."""


class InputError(MsrError, ValueError):
    """An input that cannot be used: tape, config, path or note file (exit 3)."""


class OutputError(MsrError, OSError):
    """An output that cannot be written (exit 4)."""


class UnreachableError(MsrError, ValueError):
    """A request that cannot be met, e.g. an OAS target no spread reaches (exit 6)."""


class EngineError(MsrError, RuntimeError):
    """An internal error: a bug, please report it (exit 1)."""


class DataWarning(UserWarning):
    """The run completed, but the data needs attention (exit 5 of the CLI)."""


_ERRORS = {1: EngineError, 2: UsageError, 3: InputError, 4: OutputError, 6: UnreachableError}
# Exit class of a job stopped by Ctrl-C (128 + SIGINT).
_CANCELLED = 130
_ATTENTION = 5


class Result:
    """The outputs of one run.

    ``tables`` maps each Parquet or CSV output's file stem (``loan_values``,
    ``cashflows``, ``rejects``, ``risk``, ...) to a ``pyarrow.Table``;
    ``documents`` maps each JSON output's stem (``summary``, ``manifest``,
    ``risk``, ...) to a dict; ``files`` maps every output's file name to its
    path, which exists only while ``out`` does (a temporary directory is
    removed once the files are read: pass ``out=`` to keep them).
    """

    def __init__(
        self,
        command: str,
        tables: Dict[str, pa.Table],
        documents: Dict[str, Any],
        files: Dict[str, Path],
        out: Optional[Path],
        status: str,
        message: str,
    ) -> None:
        self.command = command
        self.tables = tables
        self.documents = documents
        self.files = files
        self.out = out
        self.status = status
        self.message = message

    def _table(self, name: str) -> Optional[pa.Table]:
        return self.tables.get(name)

    @property
    def loans(self) -> Optional[pa.Table]:
        """Per-loan values (loan_values.parquet), or None."""
        return self._table("loan_values")

    @property
    def cashflows(self) -> Optional[pa.Table]:
        """Expected portfolio cash flows by month (cashflows.parquet), or None."""
        return self._table("cashflows")

    @property
    def marks(self) -> Optional[pa.Table]:
        """The accounting marks (marks.csv), or None."""
        return self._table("marks")

    @property
    def rejects(self) -> Optional[pa.Table]:
        """Rejected rows (rejects.csv or the command's rejects file), or None."""
        for name in ("rejects", "note_rejects", "repline_rejects"):
            if name in self.tables:
                return self.tables[name]
        return None

    @property
    def summary(self) -> Optional[Dict[str, Any]]:
        """The run's summary document (summary.json, or the command's own), or None."""
        for name in ("summary", "note_summary", "repline_summary", "oas", "rollforward"):
            if name in self.documents:
                return self.documents[name]
        return None

    @property
    def manifest(self) -> Optional[Dict[str, Any]]:
        """manifest.json: inputs' hashes, configuration, seed, outputs; or None."""
        return self.documents.get("manifest")

    def __repr__(self) -> str:
        return (
            f"Result(command={self.command!r}, status={self.status!r}, "
            f"tables={sorted(self.tables)}, documents={sorted(self.documents)})"
        )


# ---------------------------------------------------------------- inputs


def _is_path(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


def _tape(data: TableLike, scratch: Path, name: str, arg: str) -> str:
    """A path for a tape argument: the path itself, or the in-memory table
    streamed into scratch/name.parquet."""
    if _is_path(data):
        return os.fspath(data)
    if isinstance(data, pa.Table):
        reader: pa.RecordBatchReader = data.to_reader()
    elif isinstance(data, pa.RecordBatchReader):
        reader = data
    elif hasattr(data, "__arrow_c_stream__"):
        reader = pa.RecordBatchReader.from_stream(data)
    else:
        hint = ""
        if type(data).__module__.startswith("pandas"):
            hint = " (pandas >= 2.2 data frames have it; or pass pyarrow.Table.from_pandas(df))"
        raise TypeError(
            f"{arg}: expected a path, a pyarrow Table or RecordBatchReader, or an object "
            f"with __arrow_c_stream__, got {type(data).__name__}{hint}"
        )
    path = scratch / f"{name}.parquet"
    with pq.ParquetWriter(path, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
    return os.fspath(path)


def _toml_value(v: Any, key: str) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x, key) for x in v) + "]"
    raise TypeError(f"config: {key}: a {type(v).__name__} has no TOML form")


def _toml(d: Mapping[str, Any], prefix: str = "") -> List[str]:
    lines: List[str] = []
    tables: List[tuple] = []
    for k, v in d.items():
        if not isinstance(k, str):
            raise TypeError(f"config: keys must be strings, got {k!r}")
        full = f"{prefix}.{k}" if prefix else k
        if isinstance(v, Mapping):
            tables.append((k, v, full))
        else:
            lines.append(f"{json.dumps(k)} = {_toml_value(v, full)}")
    for k, v, full in tables:
        header = ".".join(json.dumps(p) for p in full.split("."))
        lines.append("")
        lines.append(f"[{header}]")
        lines.extend(_toml(v, full))
    return lines


def _config(config: ConfigLike, scratch: Path, name: str = "config") -> str:
    if config is None:
        return "built-in"
    if _is_path(config):
        return os.fspath(config)
    if isinstance(config, Mapping):
        path = scratch / f"{name}.toml"
        path.write_text("\n".join(_toml(config)) + "\n", encoding="utf-8")
        return os.fspath(path)
    raise TypeError(
        f"config: expected a path, a dict of TOML keys or None, got {type(config).__name__}"
    )


def _int(name: str, v: Any, lo: Optional[int] = None) -> Optional[str]:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{name}: expected an int, got {type(v).__name__}")
    if lo is not None and v < lo:
        raise UsageError(f"{name} must be at least {lo}, got {v}", 2)
    return str(v)


def _float(name: str, v: Any) -> Optional[str]:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{name}: expected a number, got {type(v).__name__}")
    return repr(float(v))


def _str(name: str, v: Any) -> Optional[str]:
    if v is None:
        return None
    if not isinstance(v, str):
        raise TypeError(f"{name}: expected a str, got {type(v).__name__}")
    return v


def _flags(pairs: Sequence[tuple]) -> List[str]:
    argv: List[str] = []
    for flag, v in pairs:
        if v is None or v is False:
            continue
        if v is True:
            argv.append(flag)
        else:
            # `--flag=value`: a value that starts with `-` stays a value.
            argv.append(f"{flag}={v}")
    return argv


# ---------------------------------------------------------------- running


# Text columns of the CSV outputs, read as strings whatever they look like
# (a loan id `000123` keeps its zeros; `as_of` stays the ISO text the other
# outputs carry). Other columns are numbers, read with type inference.
_TEXT_COLUMNS = (
    "as_of", "loan_id", "investor", "method", "run_id", "group", "level",
    "stratum", "scenario", "kind", "name", "input", "dq_status",
    "property_state", "cohort", "column", "rule",
)
# rejects.csv: `value` is the rejected cell as text.
_REJECTS_TYPES = {
    "row": pa.int64(), "loan_id": pa.string(), "column": pa.string(),
    "value": pa.string(), "rule": pa.string(),
}


def _read_csv(p: Path) -> pa.Table:
    types = (
        _REJECTS_TYPES
        if p.name == "rejects.csv"
        else {c: pa.string() for c in _TEXT_COLUMNS}
    )
    return pacsv.read_csv(p, convert_options=pacsv.ConvertOptions(column_types=types))


def _read_outputs(out: Path) -> tuple:
    tables: Dict[str, pa.Table] = {}
    documents: Dict[str, Any] = {}
    files: Dict[str, Path] = {}
    for p in sorted(out.iterdir()):
        if p.name.startswith(".") or not p.is_file():
            continue
        files[p.name] = p
        if p.suffix == ".parquet":
            tables[p.stem] = pq.read_table(p)
        elif p.suffix == ".csv":
            tables[p.stem] = _read_csv(p)
        elif p.suffix == ".json":
            with open(p, encoding="utf-8") as f:
                documents[p.stem] = json.load(f)
    return tables, documents, files


def _run(
    command: str,
    argv: List[str],
    scratch: Path,
    out: Optional[PathLike],
    threads: Optional[int],
    has_out: bool = True,
) -> Result:
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)):
        raise TypeError(f"threads: expected an int, got {type(threads).__name__}")
    if threads is not None and threads < 1:
        raise UsageError(f"threads must be at least 1, got {threads}", 2)
    out_dir = Path(out) if out is not None else scratch / "out"
    if has_out:
        argv = argv + ["--out", os.fspath(out_dir)]
    code, message = _native.run([command] + argv, threads)
    if code == _CANCELLED:
        raise KeyboardInterrupt(message)
    if code not in (0, _ATTENTION):
        raise _ERRORS.get(code, EngineError)(message, code)
    status = "ok"
    if code == _ATTENTION:
        status = "attention"
        warnings.warn(message, DataWarning, stacklevel=3)
    tables, documents, files = _read_outputs(out_dir) if out_dir.is_dir() else ({}, {}, {})
    return Result(
        command,
        tables,
        documents,
        files,
        Path(out) if out is not None else None,
        status,
        message,
    )


class _Scratch:
    """A temporary directory for in-memory inputs and default outputs."""

    def __enter__(self) -> Path:
        self.path = Path(tempfile.mkdtemp(prefix="msr-"))
        return self.path

    def __exit__(self, *exc: Any) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _path_flags(
    rate_paths: Optional[PathLike],
    num_paths: Optional[int],
    seed: Optional[int],
    path_scheme: Optional[str],
    oas: Optional[float],
) -> List[tuple]:
    if rate_paths is not None and not _is_path(rate_paths):
        raise TypeError(f"rate_paths: expected a path, got {type(rate_paths).__name__}")
    if path_scheme is not None and path_scheme not in ("pseudo", "sobol", "sobol-pca"):
        if not isinstance(path_scheme, str):
            raise TypeError(f"path_scheme: expected a str, got {type(path_scheme).__name__}")
        raise UsageError(
            f"path_scheme must be one of pseudo, sobol, sobol-pca; got {path_scheme!r}", 2
        )
    return [
        ("--rate-paths", os.fspath(rate_paths) if rate_paths is not None else None),
        ("--num-paths", _int("num_paths", num_paths, 1)),
        ("--seed", _int("seed", seed, 0)),
        ("--path-scheme", path_scheme),
        ("--oas", _float("oas", oas)),
    ]


def _path_arg(name: str, v: Optional[PathLike]) -> Optional[str]:
    if v is None:
        return None
    if not _is_path(v):
        raise TypeError(f"{name}: expected a path, got {type(v).__name__}")
    return os.fspath(v)


# ---------------------------------------------------------------- jobs


def value(
    loans: TableLike,
    config: ConfigLike = None,
    *,
    rate_paths: Optional[PathLike] = None,
    num_paths: Optional[int] = None,
    seed: Optional[int] = None,
    path_scheme: Optional[str] = None,
    oas: Optional[float] = None,
    oas_table: Optional[PathLike] = None,
    threads: Optional[int] = None,
    cashflows: bool = True,
    group_by: Optional[str] = None,
    out: Optional[PathLike] = None,
) -> Result:
    """Value every loan of a tape on every rate path (``msr value``).

    Returns a :class:`Result`: ``.loans`` (loan_values.parquet), ``.cashflows``
    (cashflows.parquet; None with ``cashflows=False``), ``.summary``
    (summary.json), ``.manifest`` (manifest.json), ``.marks`` (marks.csv),
    ``.rejects`` (rejects.csv) and, with ``group_by``, the grouped marks in
    ``.tables["marks_by_<column>"]``.
    """
    with _Scratch() as scratch:
        argv = _flags(
            [
                ("--loans", _tape(loans, scratch, "loans", "loans")),
                ("--config", _config(config, scratch)),
                *_path_flags(rate_paths, num_paths, seed, path_scheme, oas),
                ("--oas-table", _path_arg("oas_table", oas_table)),
                ("--group-by", _str("group_by", group_by)),
                ("--no-cashflows", not cashflows),
                ("--quiet", True),
            ]
        )
        return _run("value", argv, scratch, out, threads)


def risk(
    loans: TableLike,
    config: ConfigLike = None,
    *,
    rate_paths: Optional[PathLike] = None,
    num_paths: Optional[int] = None,
    seed: Optional[int] = None,
    path_scheme: Optional[str] = None,
    oas: Optional[float] = None,
    oas_table: Optional[PathLike] = None,
    derivatives: Optional[str] = None,
    threads: Optional[int] = None,
    out: Optional[PathLike] = None,
) -> Result:
    """Durations, convexity, key rates, the shock grid and stresses (``msr risk``).

    ``.documents["risk"]`` is risk.json; ``.tables["risk"]`` is risk.csv (one
    row per scenario). The durations and key-rate durations come from ±25 bp
    revaluations (``derivatives="bump"``, the default, as MODEL.md defines
    them) or from pathwise derivatives in the base run
    (``derivatives="tangent"``: twelve runs fewer); ``msr risk
    --derivatives``, docs/risk.md.
    """
    with _Scratch() as scratch:
        argv = _flags(
            [
                ("--loans", _tape(loans, scratch, "loans", "loans")),
                ("--config", _config(config, scratch)),
                *_path_flags(rate_paths, num_paths, seed, path_scheme, oas),
                ("--oas-table", _path_arg("oas_table", oas_table)),
                ("--derivatives", derivatives),
                ("--quiet", True),
            ]
        )
        return _run("risk", argv, scratch, out, threads)


def oas(
    loans: TableLike,
    config: ConfigLike = None,
    *,
    target_value: Optional[float] = None,
    target_bps: Optional[float] = None,
    target_multiple: Optional[float] = None,
    oas_min: Optional[float] = None,
    oas_max: Optional[float] = None,
    rate_paths: Optional[PathLike] = None,
    num_paths: Optional[int] = None,
    seed: Optional[int] = None,
    path_scheme: Optional[str] = None,
    threads: Optional[int] = None,
    out: Optional[PathLike] = None,
) -> Result:
    """Solve the OAS at which the book is worth a target (``msr oas``): give
    exactly one of ``target_value`` ($), ``target_bps`` or ``target_multiple``.
    ``.summary`` is oas.json.
    """
    with _Scratch() as scratch:
        argv = _flags(
            [
                ("--loans", _tape(loans, scratch, "loans", "loans")),
                ("--config", _config(config, scratch)),
                *_path_flags(rate_paths, num_paths, seed, path_scheme, None),
                ("--target-value", _float("target_value", target_value)),
                ("--target-bps", _float("target_bps", target_bps)),
                ("--target-multiple", _float("target_multiple", target_multiple)),
                ("--oas-min", _float("oas_min", oas_min)),
                ("--oas-max", _float("oas_max", oas_max)),
                ("--quiet", True),
            ]
        )
        return _run("oas", argv, scratch, out, threads)


def repline(
    loans: TableLike,
    config: ConfigLike = None,
    *,
    keys: Optional[Sequence[str]] = None,
    rate_paths: Optional[PathLike] = None,
    num_paths: Optional[int] = None,
    seed: Optional[int] = None,
    path_scheme: Optional[str] = None,
    oas: Optional[float] = None,
    oas_table: Optional[PathLike] = None,
    threads: Optional[int] = None,
    out: Optional[PathLike] = None,
) -> Result:
    """Build rep lines, value them and the loans on the same paths (``msr
    repline``). ``.tables["replines"]``, ``.tables["repline_compare"]``,
    ``.summary`` (repline_summary.json).
    """
    if keys is not None:
        if isinstance(keys, str) or not all(isinstance(k, str) for k in keys):
            raise TypeError("keys: expected a sequence of column names (str)")
        keys_arg: Optional[str] = ",".join(keys)
    else:
        keys_arg = None
    with _Scratch() as scratch:
        argv = _flags(
            [
                ("--loans", _tape(loans, scratch, "loans", "loans")),
                ("--config", _config(config, scratch)),
                *_path_flags(rate_paths, num_paths, seed, path_scheme, oas),
                ("--oas-table", _path_arg("oas_table", oas_table)),
                ("--quiet", True),
            ]
        )
        if keys_arg is not None:
            argv += [f"--keys={keys_arg}"]
        return _run("repline", argv, scratch, out, threads)


def notes(
    notes: TableLike,
    config: ConfigLike = None,
    *,
    ask_column: Optional[str] = None,
    ask: Optional[float] = None,
    out: Optional[PathLike] = None,
) -> Result:
    """Price whole-loan notes by outcome probabilities (``msr notes``).
    ``.tables["note_prices"]``, ``.summary`` (note_summary.json), ``.rejects``.
    """
    with _Scratch() as scratch:
        argv = _flags(
            [
                ("--notes", _tape(notes, scratch, "notes", "notes")),
                ("--config", _config(config, scratch)),
                ("--ask-column", _str("ask_column", ask_column)),
                ("--ask", _float("ask", ask)),
                ("--quiet", True),
            ]
        )
        return _run("notes", argv, scratch, out, None)


def rollforward(
    prior_loans: TableLike,
    prior_config: ConfigLike,
    loans: TableLike,
    config: ConfigLike = None,
    *,
    num_paths: Optional[int] = None,
    seed: Optional[int] = None,
    oas_table: Optional[PathLike] = None,
    prior_oas_table: Optional[PathLike] = None,
    threads: Optional[int] = None,
    out: Optional[PathLike] = None,
) -> Result:
    """Explain the change in fair value between two dates (``msr
    rollforward``). ``.summary`` is rollforward.json, ``.tables["rollforward"]``
    the steps.
    """
    with _Scratch() as scratch:
        argv = _flags(
            [
                ("--prior-loans", _tape(prior_loans, scratch, "prior_loans", "prior_loans")),
                ("--prior-config", _config(prior_config, scratch, "prior_config")),
                ("--loans", _tape(loans, scratch, "loans", "loans")),
                ("--config", _config(config, scratch)),
                ("--num-paths", _int("num_paths", num_paths, 1)),
                ("--seed", _int("seed", seed, 0)),
                ("--oas-table", _path_arg("oas_table", oas_table)),
                ("--prior-oas-table", _path_arg("prior_oas_table", prior_oas_table)),
                ("--quiet", True),
            ]
        )
        return _run("rollforward", argv, scratch, out, threads)


def validate(loans: TableLike, config: ConfigLike = None) -> Result:
    """Check a tape against the tape rules (``msr validate``). ``.rejects`` is
    the rejects table (row, loan_id, column, value, rule), empty when every
    row passes; ``status`` is "attention" when rejects exceed
    ``tape.max_reject_share``.
    """
    with _Scratch() as scratch:
        out_dir = scratch / "out"
        out_dir.mkdir()
        argv = _flags(
            [
                ("--loans", _tape(loans, scratch, "loans", "loans")),
                ("--config", _config(config, scratch)),
                ("--rejects", os.fspath(out_dir / "rejects.csv")),
                ("--show", "0"),
            ]
        )
        return _run("validate", argv, scratch, None, None, has_out=False)
