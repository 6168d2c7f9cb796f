"""msr_engine against the msr binary, and its inputs, errors and cancellation."""

import _thread
import json
import pickle
import signal
import subprocess
import threading
import warnings
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import msr_engine
from conftest import NOTES, SAMPLE, msr_binary

# Timings, timestamps and run ids differ between two runs; every other key of
# summary.json is compared exactly.
VOLATILE = {"timings", "loan_path_months_per_second"}


def cli(*args):
    subprocess.run([msr_binary(), *args], check=True, capture_output=True)


def strip(doc):
    return {k: v for k, v in doc.items() if k not in VOLATILE}


def test_value_is_the_cli_bit_for_bit(tmp_path):
    out = tmp_path / "cli"
    cli("value", "--loans", str(SAMPLE), "--num-paths", "16", "--seed", "7", "--out", str(out), "-q")
    run = msr_engine.value(str(SAMPLE), num_paths=16, seed=7)
    assert run.status == "ok"
    assert run.loans.equals(pq.read_table(out / "loan_values.parquet"))
    assert run.cashflows.equals(pq.read_table(out / "cashflows.parquet"))
    assert strip(run.summary) == strip(json.loads((out / "summary.json").read_text()))
    assert run.loans.num_rows == run.summary["records"]
    # The manifest records the same inputs (same file, same hash) and settings.
    cli_manifest = json.loads((out / "manifest.json").read_text())
    for key in ("resolved_config", "seed", "num_paths", "inputs", "rate_paths"):
        assert run.manifest[key] == cli_manifest[key], key
    # marks.csv: the same loans and fair values.
    assert run.marks.column("fair_value").equals(
        pa.csv.read_csv(out / "marks.csv").column("fair_value")
    )


def test_in_memory_tapes_give_the_file_values():
    base = msr_engine.value(SAMPLE, num_paths=4, seed=3, cashflows=False)
    assert base.cashflows is None
    table = pq.read_table(SAMPLE)
    from_table = msr_engine.value(table, num_paths=4, seed=3, cashflows=False)
    assert from_table.loans.equals(base.loans)
    from_reader = msr_engine.value(table.to_reader(max_chunksize=1000), num_paths=4, seed=3, cashflows=False)
    assert from_reader.loans.equals(base.loans)
    pl = pytest.importorskip("polars")
    df = pl.read_parquet(SAMPLE)
    assert hasattr(df, "__arrow_c_stream__")
    from_polars = msr_engine.value(df, num_paths=4, seed=3, cashflows=False)
    assert from_polars.loans.equals(base.loans)
    pd = pytest.importorskip("pandas")
    pdf = table.to_pandas()
    if hasattr(pdf, "__arrow_c_stream__"):
        from_pandas = msr_engine.value(pdf, num_paths=4, seed=3, cashflows=False)
        assert from_pandas.loans.column("value").equals(base.loans.column("value"))


def test_config_dict_is_read_as_a_file(tmp_path):
    as_dict = msr_engine.value(SAMPLE, {"valuation": {"num_paths": 4, "seed": 5}}, cashflows=False)
    toml = tmp_path / "c.toml"
    toml.write_text("[valuation]\nnum_paths = 4\nseed = 5\n")
    as_file = msr_engine.value(SAMPLE, str(toml), cashflows=False)
    as_flags = msr_engine.value(SAMPLE, num_paths=4, seed=5, cashflows=False)
    assert as_dict.loans.equals(as_file.loans)
    assert as_dict.loans.equals(as_flags.loans)
    with pytest.raises(msr_engine.InputError) as e:
        msr_engine.value(SAMPLE, {"valuation": {"num_pathz": 4}})
    assert "num_pathz" in str(e.value)
    assert isinstance(e.value, ValueError) and e.value.code == 3


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match="num_paths"):
        msr_engine.value(SAMPLE, num_paths="8")
    with pytest.raises(TypeError, match="loans"):
        msr_engine.value(42)
    with pytest.raises(TypeError, match="config"):
        msr_engine.value(SAMPLE, config=3.5)
    with pytest.raises(TypeError, match="threads"):
        msr_engine.value(SAMPLE, threads="2")


def test_bad_values_and_inputs_raise_value_errors(tmp_path):
    with pytest.raises(msr_engine.UsageError):
        msr_engine.value(SAMPLE, num_paths=0)
    with pytest.raises(msr_engine.UsageError):
        msr_engine.value(SAMPLE, path_scheme="halton")
    with pytest.raises(msr_engine.InputError, match="no-such.parquet"):
        msr_engine.value(tmp_path / "no-such.parquet")
    # A tape without a required column: the CLI's message names it.
    table = pq.read_table(SAMPLE).drop_columns(["note_rate"])
    with pytest.raises(msr_engine.InputError, match="note_rate"):
        msr_engine.value(table, num_paths=2)
    # Two OAS targets: a usage error of msr oas.
    with pytest.raises(msr_engine.UsageError):
        msr_engine.oas(SAMPLE, target_bps=100.0, target_multiple=4.0, num_paths=2)
    # threads below 1: the documented UsageError, with the CLI's code.
    with pytest.raises(msr_engine.UsageError) as bad_threads:
        msr_engine.value(SAMPLE, threads=0)
    assert bad_threads.value.code == 2
    # A value that starts with "-" is a value, not a flag: the column is
    # looked for (and not found), rather than "a value is required".
    with pytest.raises(msr_engine.MsrError, match="-x"):
        msr_engine.value(SAMPLE, num_paths=2, group_by="-x")
    # The errors survive pickling (multiprocessing, joblib).
    err = pickle.loads(pickle.dumps(msr_engine.InputError("bad row 3", 3)))
    assert (type(err), str(err), err.code) == (msr_engine.InputError, "bad row 3", 3)


def test_rejects_come_back_as_a_table():
    table = pq.read_table(SAMPLE).slice(0, 200)
    upb = table.column("upb").to_pylist()
    upb[17] = -5.0
    bad = table.set_column(table.schema.get_field_index("upb"), "upb", pa.array(upb))
    checked = msr_engine.validate(bad)
    rejects = checked.rejects
    assert rejects.num_rows == 1
    assert rejects.column("column").to_pylist() == ["upb"]
    assert rejects.column("row").to_pylist() == [17]  # 0-based file row, as the CLI's
    # Text columns stay text (a loan id like 000123 keeps its zeros), also
    # when there are no rejects at all.
    assert rejects.schema.field("loan_id").type == pa.string()
    clean = msr_engine.validate(table).rejects
    assert clean.num_rows == 0
    assert [clean.schema.field(c).type for c in ("row", "value")] == [pa.int64(), pa.string()]
    run = msr_engine.value(bad, num_paths=2, cashflows=False)
    assert run.rejects.num_rows == 1
    assert run.loans.num_rows == run.summary["records"]
    assert run.summary["rejected_rows"] == 1


def test_attention_is_a_warning_with_results():
    table = pq.read_table(SAMPLE).slice(0, 20)
    upb = [-1.0] * 10 + table.column("upb").to_pylist()[10:]
    bad = table.set_column(table.schema.get_field_index("upb"), "upb", pa.array(upb))
    with pytest.warns(msr_engine.DataWarning):
        run = msr_engine.value(bad, num_paths=2, cashflows=False)
    assert run.status == "attention"
    assert run.rejects.num_rows == 10
    assert run.loans is not None


def test_other_jobs_run_and_match_the_cli(tmp_path):
    rk = msr_engine.risk(SAMPLE, num_paths=4, seed=2)
    assert "risk" in rk.documents and rk.tables["risk"].num_rows > 1
    out = tmp_path / "risk"
    cli("risk", "--loans", str(SAMPLE), "--num-paths", "4", "--seed", "2", "--out", str(out), "-q")
    assert rk.tables["risk"].column("value").equals(pa.csv.read_csv(out / "risk.csv").column("value"))
    assert rk.documents["risk"]["derivatives"] == "bump"
    tangent = msr_engine.risk(SAMPLE, num_paths=4, seed=2, derivatives="tangent")
    assert tangent.documents["risk"]["derivatives"] == "tangent"
    assert tangent.tables["risk"].num_rows == rk.tables["risk"].num_rows - 12

    base = msr_engine.value(SAMPLE, num_paths=4, seed=2, cashflows=False)
    target = base.summary["value_bps"] - 10.0
    solved = msr_engine.oas(SAMPLE, target_bps=target, num_paths=4, seed=2)
    assert solved.summary is not None
    assert abs(solved.summary["value_bps"] - target) < 1e-6

    rl = msr_engine.repline(SAMPLE, keys=["investor", "dq_status"], num_paths=4, seed=2)
    assert rl.tables["replines"].num_rows == rl.summary["replines"]

    nt = msr_engine.notes(NOTES)
    assert nt.tables["note_prices"].num_rows > 0

    rf = msr_engine.rollforward(SAMPLE, None, pq.read_table(SAMPLE).slice(0, 9000), num_paths=2, seed=2)
    assert rf.summary is not None and "rollforward" in rf.tables


def test_threads_do_not_change_the_bits():
    one = msr_engine.value(SAMPLE, num_paths=4, seed=9, threads=1, cashflows=False)
    two = msr_engine.value(SAMPLE, num_paths=4, seed=9, threads=2, cashflows=False)
    assert one.loans.equals(two.loans)
    assert one.manifest["threads"] == 1 and two.manifest["threads"] == 2


def test_kept_output_directory(tmp_path):
    run = msr_engine.value(SAMPLE, num_paths=2, out=tmp_path / "kept", cashflows=False)
    assert run.out == tmp_path / "kept"
    assert (tmp_path / "kept" / "manifest.json").is_file()
    assert run.files["loan_values.parquet"].is_file()


def test_ctrl_c_cancels_and_commits_nothing(tmp_path):
    out = tmp_path / "cancelled"
    # A process started in the background by a non-interactive shell (a CI
    # runner's `cmd &`) inherits SIGINT ignored, and then Python installs no
    # handler and interrupt_main() does nothing: install Python's own for
    # the test, as an interactive session has it.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            # Long enough (a minute or more on two cores) that the interrupt lands
            # mid-run; cancelled, it stops within one chunk of loans per worker.
            msr_engine.value(SAMPLE, num_paths=2000, seed=1, out=out, cashflows=False)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert "manifest.json" not in left
    assert not [n for n in left if n not in (".msr-lock",)], left
    # The engine is usable again at once.
    again = msr_engine.value(SAMPLE, num_paths=2, cashflows=False)
    assert again.status == "ok"
