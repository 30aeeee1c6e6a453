"""The results folder of a run, written completely or not at all.

Everything goes into a hidden temporary folder beside the target first; only
when every file is written is it moved into place, replacing the previous
results of that scenario. An interrupted run leaves the previous results as
they were and no partial folder behind. Files someone added to a previous
results folder (those its manifest does not list) are carried over into the
new one; a folder that is not a results folder is never replaced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import platform
import re
import secrets
import shutil
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from roisim import __version__
from roisim.model import subject_count
from roisim.report import write_report
from roisim.result import Profiles, SimulationResult, subject_scores

if TYPE_CHECKING:
    from roisim.chart_process import ChartProcess
    from roisim.scenario import Scenario
    from roisim.sweeps import Sweep

#: rows per Parquet row group (and per slice held in memory while writing).
ROW_GROUP = 1 << 20
#: peak memory of simulating a run and writing its results, per trial and
#: simulated subject: the outcomes (28 bytes) and the summary's and
#: comparisons' working arrays; 37-44 bytes in all, measured on the examples.
RUN_SUBJECT_BYTES = 48
#: and per trial and thread analysing subjects (the comparisons' sorted copies).
RUN_TRIAL_BYTES = 16
#: and whatever the trials: the interpreter, its libraries and the analyses of
#: the first 200,000 trials; the processes that draw the charts add as much.
RUN_BASE_BYTES = 500e6


def run_memory(scenario: Scenario, charts: bool, threads: int = 1) -> tuple[float, float]:
    """(bytes per trial, bytes whatever the trials) of simulating a run and writing its results.

    An estimate from above, for :func:`roisim.result.memory_shortfall`;
    ``threads`` summarise subjects at once.
    """
    subjects = subject_count(scenario)
    per_trial = RUN_TRIAL_BYTES * max(1, min(threads, subjects)) + RUN_SUBJECT_BYTES * subjects
    return per_trial, RUN_BASE_BYTES * (1 + charts)


#: the longest name :func:`slug` gives, in bytes of UTF-8
SLUG_BYTES = 120


def slug(text: str, empty: str = "scenario") -> str:
    """A file-name-safe version of a name: lower case, words joined by '_'.

    Accents are dropped ("Café für Bäcker" -> "cafe_fur_backer"); letters of
    other scripts are kept. A text with nothing to keep (an emoji) gives ``empty``.
    """
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    cleaned = re.sub(r"[\W_]+", "_", plain).strip("_").lower()
    # file systems take names of at most 255 bytes; room is left for a chart's name
    while len(cleaned.encode()) > SLUG_BYTES:
        cleaned = cleaned[:-1].rstrip("_")
    return cleaned or empty


def slugs(names: list[str]) -> dict[str, str]:
    """:func:`slug` of each of ``names``, made unique with ``_2``, ``_3`` ... in order.

    Names differing only in case or punctuation ("Pilot A", "pilot-a") would
    otherwise name the same file. A name with nothing to keep (an emoji)
    becomes ``subject``.
    """
    taken: set[str] = set()
    out = {}
    for name in names:
        base = candidate = slug(name, empty="subject")
        k = 1
        while candidate in taken:
            k += 1
            candidate = f"{base}_{k}"
        taken.add(candidate)
        out[name] = candidate
    return out


def chart_file(chart: str, result: SimulationResult, subject: str | None = None) -> str:
    """The file a chart of ``result`` is saved as: ``chart.png``, or ``chart_<subject>.png``.

    Subjects are named by :func:`slugs`, unique within the run.
    """
    return f"{chart}_{slugs(result.subjects)[subject]}.png" if subject is not None else f"{chart}.png"


def sha256(path: str | Path) -> str:
    """Hex digest of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def result_folder(result: SimulationResult, out: Path) -> Path:
    """Where a result goes: ``out/<scenario file stem>`` (or the scenario name)."""
    source = result.scenario.source
    return out / (folder_name(source) if source else slug(result.scenario.name))


def folder_name(scenario_file: str | Path) -> str:
    """The results folder of a scenario file: its name without ``.toml``, as :func:`slug`."""
    return slug(Path(scenario_file).stem)


def not_replaceable(folder: Path) -> str | None:
    """Why ``folder`` must not be replaced by a results folder ("exists and ..."); None where it may be.

    It may be where it does not exist, is empty, or holds the ``manifest.json``
    of an earlier run.
    """
    if not folder.exists() and not folder.is_symlink():
        return None
    if folder.is_symlink() or not folder.is_dir():
        return "exists and is not a folder"
    if not any(folder.iterdir()) or _listed(folder) is not None:
        return None
    return "exists and is not a roisim results folder (it has no manifest.json from 'roisim run')"


def _listed(folder: Path) -> list[str] | None:
    """The files the manifest in ``folder`` lists; None where it has no readable one."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or "roisim_version" not in manifest \
            or not isinstance(manifest.get("files"), list):
        return None
    return [str(name) for name in manifest["files"]]


def _refuse_unless_replaceable(folder: Path) -> None:
    """Raise FileExistsError where ``folder`` must not be replaced (:func:`not_replaceable`)."""
    if problem := not_replaceable(folder):
        raise FileExistsError(f"{folder} {problem}; move it away, or write the results elsewhere")


def added_files(folder: Path) -> list[str]:
    """Names in results folder ``folder`` that its manifest does not list: added by someone."""
    listed = set(_listed(folder) or [])
    return sorted(entry.name for entry in folder.iterdir() if entry.name not in listed)


def write_results(result: SimulationResult, out: str | Path, *, charts: bool = True,
                  manifest: dict[str, Any] | None = None,
                  drawer: ChartProcess | None = None) -> Path:
    """Write every table, chart and the manifest of ``result`` under ``out``.

    Returns the folder written. Raises OSError when ``out`` cannot be written,
    and FileExistsError where the folder to write exists and is not a results
    folder (:func:`not_replaceable`); nothing is left half-written in that
    case, nor on KeyboardInterrupt. Files added to the previous results
    folder are kept (:func:`added_files`).
    ``charts=False`` skips the PNG charts (most of the time of a small run).
    ``drawer``, a process started earlier (:mod:`roisim.chart_process`),
    draws the charts while this one writes the tables, where the result is
    small enough to send it; otherwise forked copies of this process draw
    them while it writes the tables, and it joins them once done.
    """
    out = Path(out)
    final = result_folder(result, out)
    _refuse_unless_replaceable(final)
    out.mkdir(parents=True, exist_ok=True)
    work = work_folder(out, final.name)
    try:
        work.mkdir()  # with the permissions the umask gives any folder: results are not private
        if charts and drawer is not None:
            drawer.submit(result, work)
        files: list[str] = []

        def write_data() -> None:
            files.extend(write_tables(result, work) + write_trials(result, work))

        if drawer is not None and drawer.pending:
            write_data()
            files += drawer.collect()
        elif charts:
            from roisim.charts import write_charts

            # the tables are written while forked copies of this process draw
            files += write_charts(result, work, workers=result.threads, meanwhile=write_data)
        else:
            write_data()
        files += write_report(result, work, files)
        info = build_manifest(result, files, manifest or {})
        (work / "manifest.json").write_text(json.dumps(info, indent=2) + "\n")
        _swap_into_place(work, final)
    except BaseException:
        if drawer is not None and drawer.pending:  # it may be writing into this folder
            drawer.kill()
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


def write_sweep(sweep: Sweep, out: Path, *, charts: bool = True,
                manifest: dict[str, Any] | None = None) -> Path:
    """Write a sweep's ``sweep.csv``, ``sweep.png`` and ``manifest.json`` under ``out``.

    Into ``out/<scenario>_sweep_<place>`` (:func:`roisim.sweeps.folder_name`),
    written aside and moved into place as a run's results are
    (:func:`write_results`).
    """
    from roisim.charts import DPI
    from roisim.sweeps import folder_name

    final = out / folder_name(sweep.scenario, sweep.path)
    _refuse_unless_replaceable(final)
    out.mkdir(parents=True, exist_ok=True)
    work = work_folder(out, final.name)
    try:
        work.mkdir()
        write_csv(sweep.summary, work / "sweep.csv")
        files = ["sweep.csv"]
        if charts:
            sweep.plot().savefig(work / "sweep.png", dpi=DPI, pil_kwargs={"compress_level": 1})
            files.append("sweep.png")
        info: dict[str, Any] = {
            **_provenance(sweep.scenario),
            "place": sweep.path,
            "values": sweep.labels,
            "seed": sweep.seed,
            "trials": sweep.trials,
            "sampling": sweep.sampling,
            "warnings": sweep.scenario.warnings,
            "wall_time_s": round(sweep.wall_time, 4),
            "subjects": sweep.scenario.subjects,
            "currency": sweep.scenario.scenario.currency,
            **_environment(),
            "files": sorted(files + ["manifest.json"]),
            **(manifest or {}),
        }
        (work / "manifest.json").write_text(json.dumps(jsonable(info), indent=2) + "\n")
        _swap_into_place(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


def work_folder(parent: Path, name: str) -> Path:
    """A hidden folder in ``parent`` to write into before moving into place: named, not yet made.

    The caller makes it inside the ``try`` that removes it, so that an
    interrupt arriving just after it appears still finds it: with
    ``tempfile.mkdtemp``, one arriving between the folder's creation and
    the assignment of its name left it behind. This process's id and a
    random part keep it apart from every other run's.
    """
    return parent / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.partial"


def _swap_into_place(work: Path, final: Path) -> None:
    if not final.exists():
        os.replace(work, final)
        return
    _refuse_unless_replaceable(final)  # a folder may have appeared since the run began
    added = added_files(final)
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    os.replace(final, old)
    try:
        os.replace(work, final)
    except BaseException:
        os.replace(old, final)
        raise
    for name in added:  # renames on one file system: each moves whole or not at all
        if not (final / name).exists():  # where the new run writes that name, its file wins
            os.replace(old / name, final / name)
    shutil.rmtree(old, ignore_errors=True)


def jsonable(value: Any) -> Any:
    """Numbers as JSON allows them: NaN -> null, +-inf -> "inf"/"-inf"."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def write_csv(frame: pd.DataFrame, path: Path, **options: Any) -> None:
    """``frame`` as CSV, in UTF-8 with a byte-order mark.

    Excel, opening a CSV without the mark, reads it in the system's code
    page, and a subject named "Buchung zuerst, Telefon wenn es trägt" shows
    as "trÃ¤gt"; with it, as written. pandas, pyarrow and R skip the mark.
    """
    frame.to_csv(path, encoding="utf-8-sig", **options)


def write_tables(result: SimulationResult, folder: Path) -> list[str]:
    """summary.csv/.json, comparison.csv, ranking.csv and, for gated plans, gates.csv."""
    summary = result.summary()
    write_csv(summary, folder / "summary.csv")
    records = [{"subject": name, **row} for name, row in summary.to_dict(orient="index").items()]
    (folder / "summary.json").write_text(json.dumps(jsonable(records), indent=2) + "\n")
    files = ["summary.csv", "summary.json"]
    files += write_comparison(result.profiles(), folder)
    sensitivity = pd.concat({s: t for s, t in result.sensitivity_tables().items()},
                            names=["subject", "input"])
    write_csv(sensitivity, folder / "sensitivity.csv")
    write_csv(result.value_of_information(), folder / "value_of_information.csv")
    files += ["sensitivity.csv", "value_of_information.csv"]
    gates = result.gates()
    if not gates.empty:
        write_csv(gates, folder / "gates.csv", index=False)
        files.append("gates.csv")
    return files


def write_comparison(profiles: Any, folder: Path) -> list[str]:
    """comparison.csv and ranking.csv of a run."""
    write_csv(profiles.comparison(), folder / "comparison.csv", index=False)
    write_csv(profiles.ranking(), folder / "ranking.csv")
    return ["comparison.csv", "ranking.csv"]


TRIALS_SCHEMA = pa.schema([
    ("subject", pa.dictionary(pa.int32(), pa.string())),
    ("trial", pa.int64()),
    ("npv", pa.float64()),
    ("roi", pa.float64()),
    ("pv_costs", pa.float64()),
    ("pv_benefits", pa.float64()),
    ("payback_month", pa.int16()),
    ("discounted_payback_month", pa.int16()),
    ("irr", pa.float32()),
    ("phases_started", pa.uint16()),
])


#: dictionaries only for columns with few distinct values: tried on the money
#: columns (every value distinct), they cost two thirds of the writing time and
#: are thrown away; trial numbers are consecutive, which delta encoding stores in
#: almost nothing.
TRIALS_ENCODING: dict[str, Any] = {
    "use_dictionary": ["subject", "payback_month", "discounted_payback_month", "phases_started"],
    "column_encoding": {"trial": "DELTA_BINARY_PACKED"},
}


#: what each column of trials.parquet holds, kept in the file with its field
COLUMN_NOTES = {
    "subject": "initiative or plan",
    "trial": "trial number, from 0; every subject meets the same trials",
    "npv": "net present value = pv_benefits - pv_costs [{currency}]",
    "roi": "npv / pv_costs; null where pv_costs is 0",
    "pv_costs": "present value of the costs [{currency}]",
    "pv_benefits": "present value of the benefits [{currency}]",
    "payback_month": "first month from whose end on cumulative net cash stays >= 0; "
                     "null where never within the horizon",
    "discounted_payback_month": "payback_month of the discounted cash",
    "irr": "annual internal rate of return (0.12 for 12%); null where none",
    "phases_started": "bit k set where phase k+1 of the plan started",
}


def trials_schema(result: SimulationResult) -> pa.Schema:
    """:data:`TRIALS_SCHEMA` with what a reader of the file alone needs to know.

    Each field says what it holds (:data:`COLUMN_NOTES`, money in the
    scenario's currency); the schema's ``roisim`` key holds the run: scenario,
    currency, horizon, discount rate, seed, trials, sampling and roisim's
    version, as JSON (``pq.read_schema(path).metadata[b"roisim"]``).
    """
    header = result.scenario.scenario
    fields = [field.with_metadata({"description": COLUMN_NOTES[field.name].format(
        currency=header.currency)}) for field in TRIALS_SCHEMA]
    run = {"roisim_version": __version__, "scenario_name": result.scenario.name,
           "currency": header.currency, "horizon_months": header.horizon_months,
           "discount_rate": header.discount_rate, "seed": result.seed,
           "trials": result.n_trials, "sampling": result.sampling}
    return pa.schema(fields, metadata={"roisim": json.dumps(run)})


def write_trials(result: SimulationResult, folder: Path) -> list[str]:
    """trials.parquet: one row per subject and trial; null where undefined.

    ``phases_started`` has bit k set when phase k+1 of the subject started.
    The file says what each column holds and which run wrote it
    (:func:`trials_schema`).
    """
    o = result.outcomes
    names = pa.array(result.subjects, pa.string())
    schema = trials_schema(result)
    with pq.ParquetWriter(folder / "trials.parquet", schema, compression="zstd",
                          **TRIALS_ENCODING) as writer:
        for s in range(len(result.subjects)):
            for lo in range(0, result.n_trials, ROW_GROUP):
                hi = min(lo + ROW_GROUP, result.n_trials)
                pvc, pvb = o.pv_costs[s, lo:hi], o.pv_benefits[s, lo:hi]
                npv = pvb - pvc
                with np.errstate(divide="ignore", invalid="ignore"):
                    roi = npv / pvc
                pb, dpb, irr = o.payback[s, lo:hi], o.dpayback[s, lo:hi], o.irr[s, lo:hi]
                batch = pa.record_batch([
                    pa.DictionaryArray.from_arrays(np.full(hi - lo, s, np.int32), names),
                    pa.array(np.arange(lo, hi, dtype=np.int64)),
                    pa.array(npv),
                    pa.array(roi, mask=pvc == 0.0),
                    pa.array(pvc),
                    pa.array(pvb),
                    pa.array(pb, mask=pb < 0),
                    pa.array(dpb, mask=dpb < 0),
                    pa.array(irr, mask=np.isnan(irr)),
                    pa.array(o.started[s, lo:hi]),
                ], schema=schema)
                writer.write_batch(batch, row_group_size=ROW_GROUP)
    return ["trials.parquet"]


def build_manifest(result: SimulationResult, files: list[str], extra: dict[str, Any]
                   ) -> dict[str, Any]:
    """Everything needed to rerun and to trust a result folder."""
    info: dict[str, Any] = {
        **_provenance(result.scenario),
        "seed": result.seed,
        "trials": result.n_trials,
        "threads": result.threads,
        "sampling": result.sampling,
        "stop_reason": result.stop_reason,
        "warnings": result.scenario.warnings,
        "wall_time_s": round(result.wall_time, 4),
        "subjects": result.subjects,
        "plans": [plan.name for plan in result.scenario.plans],
        "currency": result.scenario.scenario.currency,
        "horizon_months": result.scenario.scenario.horizon_months,
        "scores": {name: list(pair) for name, pair in subject_scores(result.scenario).items()},
        **_environment(),
        "files": sorted(files + ["manifest.json"]),
    }
    info.update(extra)
    return jsonable(info)


def _provenance(scenario: Scenario) -> dict[str, Any]:
    """A manifest's first entries: roisim's version, and the scenario with its file's sha256."""
    source = scenario.source
    return {
        "roisim_version": __version__,
        "scenario_name": scenario.name,
        "scenario_file": str(source) if source else None,
        "scenario_sha256": sha256(source) if source and Path(source).is_file() else None,
    }


def _environment() -> dict[str, Any]:
    """When a manifest was written, and with which Python, libraries and machine."""
    import numba
    import scipy

    return {
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "scipy": scipy.__version__,
        "machine": platform.machine(),
    }


def read_profiles(folder: str | Path) -> Profiles:
    """The npv and payback of every subject of a saved run (``trials.parquet`` + manifest)."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    table = pq.read_table(folder / "trials.parquet",
                          columns=["subject", "npv", "payback_month"])
    column = table.column("subject").combine_chunks()
    subjects = column.indices.to_numpy()
    names = manifest["subjects"]
    # files of two runs side by side would otherwise pair one's trials with the other's names
    if column.dictionary.to_pylist() != names:
        raise ValueError(f"trials.parquet holds the subjects {column.dictionary.to_pylist()}, "
                         f"manifest.json {names}: the two files are not of the same run")
    counts = np.bincount(subjects, minlength=len(names))
    if (counts != manifest["trials"]).any():
        raise ValueError(f"trials.parquet holds {', '.join(f'{c:,}' for c in counts)} trials of "
                         f"its subjects, manifest.json {manifest['trials']:,} of each: the two "
                         "files are not of the same run")
    npv = table.column("npv").to_numpy()
    payback = table.column("payback_month").fill_null(-1).to_numpy().astype(np.int16)
    nan = float("nan")
    return Profiles(
        npv={name: npv[subjects == s] for s, name in enumerate(names)},
        payback={name: payback[subjects == s] for s, name in enumerate(names)},
        scores={name: (nan if a is None else a, nan if b is None else b)
                for name, (a, b) in manifest["scores"].items()},
        plans=manifest["plans"],
        currency=manifest["currency"],
        horizon=manifest["horizon_months"],
    )


def redraw_comparison(folder: str | Path) -> list[str]:
    """Rewrite comparison.csv, ranking.csv and the comparison charts of a saved run.

    They are written into a hidden folder inside it first and each moved into
    place once all are written: an interrupted or failed redraw leaves every
    file as it was, none half-written.
    """
    from roisim.charts import comparison_charts

    folder = Path(folder)
    profiles = read_profiles(folder)
    work = work_folder(folder, "comparison")
    try:
        work.mkdir()
        files = write_comparison(profiles, work)
        files += comparison_charts(profiles, profiles.ranking(), work)
        for name in files:  # renames within one folder: each file whole, old or new
            os.replace(work / name, folder / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return files
