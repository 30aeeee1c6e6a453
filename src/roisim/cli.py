"""The ``roisim`` command line: parse, dispatch, print. Nothing else imports typer."""

from __future__ import annotations

import atexit
import functools
import gc
import math
import os
import re
import signal
import sys
import time
import warnings
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

from roisim._startup import INTERRUPTED, caused_by, quiet_interrupt

with quiet_interrupt():  # Ctrl-C while these load, before main() handles it
    import typer
    from rich.console import Console, Group
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.table import Table
    from rich.text import Text

if TYPE_CHECKING:  # for annotations only
    from roisim.chart_process import ChartProcess
    from roisim.scenario import Scenario

EXIT_CODES = """Exit codes: 0 every scenario ran; 1 a run failed (could not simulate or write
results); 2 bad input (a scenario file or option is wrong); 130 interrupted (Ctrl-C);
143 terminated (SIGTERM)."""

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=f"Monte Carlo ROI simulation for automation projects.\n\n{EXIT_CODES}",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
# data: tables to stdout (wide when piped, so tables are not squeezed to 80 columns)
# markup off: file names, scenario names and messages may contain [brackets]
class _Console(Console):
    """A console that prints nothing more once its reader has gone (``roisim run ... | head``).

    The runs go on and write their results: what the streams carry is an
    account of them, which the reader chose to stop reading. (rich's own
    console ends the process there, with exit code 1, leaving the rest of a
    batch unsimulated.)
    """

    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.file.fileno())  # what is still buffered goes nowhere, quietly
        os.close(devnull)


out = _Console(soft_wrap=True, markup=False, width=None if sys.stdout.isatty() else 160)
err = _Console(stderr=True, soft_wrap=True, markup=False)  # progress and problems to stderr


def _show_warning(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
    """Warnings of roisim's own as one line, "warning: ...", as the command line's; others as usual."""
    if category.__module__.startswith("roisim"):
        err.print(f"warning: {message}", highlight=False)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning, warnings.showwarning = warnings.showwarning, _show_warning

OK, FAILED, BAD_INPUT, TERMINATED = 0, 1, 2, 143


class Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C (a BaseException, so no handler swallows it)."""


def _on_sigterm(_signum: int, _frame: object) -> None:
    raise Terminated()


def scenario_files(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Scenario files named by ``paths`` (folders give their *.toml, sorted); and problems.

    A file named twice (itself and through its folder) is taken once.
    """
    files, problems = [], []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.toml"))
            if not found:
                problems.append(f"{path}: no scenario files (*.toml) in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append(f"{path}: no such file or folder")
    return first_of_each(files), problems


def first_of_each(paths: list[Path]) -> list[Path]:
    """``paths`` in order, less any that names a file or folder named earlier (itself, or by a folder)."""
    first = {path.resolve(): path for path in reversed(paths)}
    return [path for path in paths if first[path.resolve()] is path]


def result_folders(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Result folders named by ``paths`` (a folder of them, as --out, gives each, sorted); and problems."""
    def is_result(folder: Path) -> bool:
        return (folder / "manifest.json").is_file() and (folder / "trials.parquet").is_file()

    folders, problems = [], []
    for path in paths:
        if is_result(path):
            folders.append(path)
        elif not path.is_dir():
            problems.append(f"{path}: no such folder" if not path.exists() else
                            f"{path}: a file, where a result folder from 'roisim run' is expected")
        elif inside := sorted(sub for sub in path.iterdir() if sub.is_dir() and is_result(sub)):
            folders.extend(inside)
        else:
            problems.append(f"{path}: not a result folder, nor a folder of them (no manifest.json "
                            "and trials.parquet from 'roisim run')")
    return first_of_each(folders), problems


def shared_folders(files: list[Path], out_dir: Path) -> tuple[list[Path], list[str]]:
    """``files`` less those whose results would replace another's, or other files; and why.

    Results go to ``out_dir/<file name>`` (:func:`roisim.output.result_folder`):
    two files of the same name from different folders would write the same
    folder, the second replacing the first; and a folder there that is not a
    results folder is never replaced (:func:`roisim.output.not_replaceable`).
    """
    from roisim.output import folder_name, not_replaceable

    first: dict[str, Path] = {}
    kept, problems = [], []
    for path in files:
        name = folder_name(path)
        if problem := not_replaceable(out_dir / name):
            problems.append(f"{path}: its results go to {out_dir / name}, which {problem}; "
                            "move it away, or choose another --out")
            continue
        if name in first:
            problems.append(f"{path}: its results would replace those of {first[name]} in "
                            f"{out_dir / name}, written by this same run; rename one of the "
                            "files, or run them one at a time with different --out folders")
            continue
        first[name] = path
        kept.append(path)
    return kept, problems


def file_in_the_way(out_dir: Path) -> Path | None:
    """``out_dir`` or the folder above it that exists, where it is a file: results cannot go there."""
    for folder in (out_dir, *out_dir.parents):
        if folder.exists():
            return None if folder.is_dir() else folder
    return None


class Report:
    """Counts outcomes of a batch and decides the exit code."""

    def __init__(self, verb: str) -> None:
        self.verb, self.done, self.failed, self.bad = verb, 0, 0, 0

    def bad_input(self, message: str) -> None:
        err.print(Text.assemble(("error:", "red"), " ", message), highlight=False)
        self.bad += 1

    def failure(self, message: str) -> None:
        err.print(Text.assemble(("failed:", "red"), " ", message), highlight=False)
        self.failed += 1

    def close(self) -> int:
        noun = "scenario" if self.done == 1 else "scenarios"
        problems = self.failed + self.bad
        err.print(f"{self.done} {noun} {self.verb}, {problems} failed.", highlight=False)
        if self.bad:
            return BAD_INPUT
        return FAILED if self.failed else OK


def trial_count(text: str) -> int:
    """A number of trials as an analyst writes it: ``1000000``, ``1_000_000``, ``1,000,000`` or ``1e6``.

    Read exactly (``1.5e9`` is 1,500,000,000, and nothing goes through a
    float), up to the most a scenario file takes.
    """
    from roisim.scenario import MAX_TRIALS

    grouped = re.fullmatch(r"\d{1,3}(,\d{3})+", text)  # 1,000,000; never a decimal comma (1,5)
    try:
        value = Decimal(text.replace(",", "") if grouped else text)
    except InvalidOperation:
        value = Decimal("nan")
    if not (value.is_finite() and value == value.to_integral_value() and value >= 1):
        raise typer.BadParameter(f"expected a whole number of trials of at least 1, such as 1000000, "
                                 f"1_000_000 or 1e6; got '{text}'")
    if value > MAX_TRIALS:
        raise typer.BadParameter(f"expected at most {MAX_TRIALS:,} trials, as in a scenario file; "
                                 f"got '{text}'")
    return int(value)


def given_path(text: str) -> Path:
    """A path from the command line, refused where it is empty.

    An empty argument (often a variable that was never set, as in ``--out
    "$RESULTS"``) would otherwise be the current folder: results would be
    written, or scenarios looked for, where nobody meant.
    """
    if not text:
        raise typer.BadParameter("expected a path, got an empty one (is a variable unset?)")
    return Path(text)


def _progress_callback(label: str):  # type: ignore[no-untyped-def]
    """A progress bar on stderr that appears once a run has lasted about a second.

    Only in a terminal: stderr kept in a file or read by another program
    gets no bar (a bar there leaves blank lines), as with other tools.
    """
    began = time.perf_counter()
    state: dict[str, object] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            if not err.is_terminal or time.perf_counter() - began < 1.0 and done < total:
                return
            if done >= total and "bar" not in state:
                return
            bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                           TimeRemainingColumn(), console=err, transient=True)
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(label, total=total)
        bar = state["bar"]
        bar.update(state["task"], completed=done)  # type: ignore[attr-defined]
        if done >= total:
            bar.stop()  # type: ignore[attr-defined]

    def close() -> None:
        if "bar" in state:
            state["bar"].stop()  # type: ignore[attr-defined]

    return update, close


#: the narrowest the subject column of the summary table may get (names wrap within it)
SUBJECT_WIDTH = 12


def _says_interrupted(command: Callable[..., None]) -> Callable[..., None]:
    """``command``, saying "interrupted" where Ctrl-C ends it outside a scenario's run.

    typer turns a KeyboardInterrupt that leaves a command into exit 130 with
    nothing printed; a run's own interrupt (:func:`_run_one`) says which
    results were left as they were, and this says the rest.
    """
    @functools.wraps(command)
    def said(*args: object, **kwargs: object) -> None:
        try:
            command(*args, **kwargs)
        except KeyboardInterrupt:
            err.print("interrupted", highlight=False)
            raise typer.Exit(INTERRUPTED) from None

    return said


def summary_table(title: str, summary, currency: str, width: int) -> Table | Group:  # type: ignore[no-untyped-def]
    """The headline numbers of every subject, to print ``width`` characters wide.

    A table where every number fits whole (names wrap; headers wrap at
    spaces); in a terminal too narrow for that, one block per subject, its
    numbers as "name value" pairs across lines. A number is never cut short.
    """
    from roisim.metrics import PAYBACK_CAPTION, headline

    cells = headline(summary)
    caption = f"NPV in {currency}; {PAYBACK_CAPTION}"
    values = [max(len(v) for v in cells[name]) for name in cells.columns]
    # each number's column fixed at its widest value and its name on one line, else
    # the longest word of its name (the name wraps); only the subjects' column shrinks
    one_line = [max(v, len(name)) for v, name in zip(values, cells.columns, strict=True)]
    wrapped = [max([v] + [len(word) for word in name.split()])
               for v, name in zip(values, cells.columns, strict=True)]
    subject = min(max([len(str(s)) for s in cells.index] + [len("subject")]), SUBJECT_WIDTH)
    borders = 3 * (len(values) + 1) + 1  # "│ " before and " " after each cell, a closing "│"
    for widths in (one_line, wrapped):
        if sum(widths) + subject + borders > width:
            continue
        table = Table(title=title, title_justify="left", header_style="bold", caption=caption)
        table.add_column("subject", min_width=subject, overflow="fold")
        for name, fixed in zip(cells.columns, widths, strict=True):
            table.add_column(name, justify="right", width=fixed)
        for name, row in cells.iterrows():
            table.add_row(str(name), *row)
        return table
    lines: list[Text] = [Text(title, style="italic")]
    for name, row in cells.iterrows():
        lines.append(Text(str(name), style="bold"))
        pairs = [f"{key} {value}" for key, value in row.items()]
        pairs[:2] = [f"{row.index[0]} {row.iloc[0]} ± {row.iloc[1]}"]  # E[NPV] and its se
        line = ""
        for pair in pairs:
            if line and len(line) + 3 + len(pair) > width - 2:
                lines.append(Text("  " + line))
                line = ""
            line = f"{line}   {pair}" if line else pair
        lines.append(Text("  " + line))
    lines.append(Text(caption, style="dim italic"))
    return Group(*lines)


@app.command(epilog=EXIT_CODES)
@_says_interrupted
def run(
    paths: Annotated[list[Path], typer.Argument(
        parser=given_path, metavar="PATH", help="Scenario files or folders of them.")],
    trials: Annotated[int | None, typer.Option(
        parser=trial_count, metavar="N", help="Trials, such as 1000000 or 1e6 (default: each "
                                              "scenario's own).")] = None,
    seed: Annotated[int | None, typer.Option(
        min=0, metavar="N", help="Seed (default: each scenario's own).")] = None,
    out_dir: Annotated[Path, typer.Option(
        "--out", parser=given_path, metavar="DIR", help="Folder for results.")] = Path("results"),
    threads: Annotated[int | None, typer.Option(
        min=1, metavar="N", help="Worker threads (default: all cores).")] = None,
    repair_correlations: Annotated[bool, typer.Option(
        "--repair-correlations",
        help="Replace contradictory rank correlations by the nearest valid matrix.")] = False,
    charts: Annotated[bool, typer.Option(
        "--charts/--no-charts", help="Draw the PNG charts (about 0.2 s each).")] = True,
    sampling: Annotated[str | None, typer.Option(
        metavar="DESIGN", help="random, lhs or sobol (default: the scenario's own).")] = None,
    until: Annotated[str | None, typer.Option(
        metavar="STAT", help="Run until this statistic is precise: 'mean npv', 'P(npv<0)', 'p50 npv', "
             "'P(payback<=24)'.")] = None,
    within: Annotated[float | None, typer.Option(
        metavar="W", help="With --until: the 95% half-width to reach, for every subject.")] = None,
    max_trials: Annotated[int | None, typer.Option(
        parser=trial_count, metavar="N",
        help="With --until: the most trials to run (default 10,000,000).")] = None,
) -> None:
    """Simulate scenarios and write results/<scenario>/ for each."""
    import numba

    signal.signal(signal.SIGTERM, _on_sigterm)
    if threads is not None and threads > numba.config.NUMBA_NUM_THREADS:
        err.print(f"error: --threads must be at most {numba.config.NUMBA_NUM_THREADS} "
                  f"(the cores numba can use), got {threads}", highlight=False)
        raise typer.Exit(BAD_INPUT)
    from roisim.convergence import parse_target, target_problem
    from roisim.distributions import number
    from roisim.sampling import SAMPLINGS

    problem = None
    if sampling is not None and sampling not in SAMPLINGS:
        problem = f"--sampling must be one of {', '.join(SAMPLINGS)}, got '{sampling}'"
    elif until is not None:
        try:
            target = parse_target(until)
        except ValueError as exc:
            problem = f"--until: {exc}"
        if within is None or not 0 < within < math.inf:  # nan and inf too
            got = "" if within is None else f", got {number(within)}"
            problem = problem or f"--until needs --within, a positive half-width{got}"
        elif not problem and (unmeant := target_problem(target, within)):
            problem = f"--within: {unmeant}"
        if trials is not None:  # --until decides how many to run
            problem = problem or "--trials does not go with --until, which adds trials until the " \
                                 "estimate is precise; to cap them, use --max-trials"
    elif within is not None or max_trials is not None:
        problem = "--within and --max-trials go with --until"
    if not problem and (blocked := file_in_the_way(out_dir)):
        problem = f"--out {out_dir}: {blocked} is a file, where a folder is expected"
    if problem:
        err.print(f"error: {problem}", highlight=False)
        raise typer.Exit(BAD_INPUT)
    if until is not None:
        trials = max_trials or 10_000_000
    files, problems = scenario_files(paths)
    files, clashes = shared_folders(files, out_dir)
    report = Report("simulated")
    for problem in problems + clashes:
        report.bad_input(problem)
    drawer = None
    try:
        for path in files:
            scenario = _load(path, report, repair_correlations)
            if scenario is None:
                continue
            if charts and drawer is None and sys.platform == "linux":
                # forked before the first simulation starts numba's threads
                from roisim.chart_process import ChartProcess

                drawer = ChartProcess()
            _run_one(path, scenario, report, drawer, trials=trials, seed=seed, threads=threads,
                     out_dir=out_dir, charts=charts, sampling=sampling, until=until,
                     within=within)
    finally:
        if drawer is not None:
            drawer.kill()  # idle by now, or interrupted: either way, nothing to wait for
    raise typer.Exit(report.close())


def _run_one(path: Path, scenario: Scenario, report: Report, drawer: ChartProcess | None, *,
             trials: int | None, seed: int | None, threads: int | None, out_dir: Path,
             charts: bool, sampling: str | None, until: str | None, within: float | None
             ) -> None:
    """Simulate one scenario, write its results and print its summary (or report why not)."""
    import roisim
    from roisim.output import run_memory, write_results
    from roisim.result import gigabytes, memory_shortfall

    if until is not None and within is not None:  # checked against this scenario's horizon
        from roisim.convergence import parse_target, target_problem

        unmeant = target_problem(parse_target(until), within, scenario.scenario.horizon_months)
        if unmeant:
            report.bad_input(f"{path}: --until: {unmeant}")
            return
    n = trials or scenario.scenario.trials
    import numba

    short = memory_shortfall(n, *run_memory(scenario, charts,
                                            threads or numba.config.NUMBA_NUM_THREADS))
    if short is not None:
        need, available, fit = short
        if until is not None:
            where, instead = "--max-trials", "a lower --max-trials"
        else:
            where = "--trials" if trials else "scenario.trials"
            instead = "--until to stop once precise enough"
        report.bad_input(
            f"{path}: {where}: {n:,} trials need about {gigabytes(need)} of memory to "
            f"simulate and write their results, more than the {gigabytes(available)} "
            f"available; expected at most about {fit:,} trials, or {instead}")
        return
    close = lambda: None  # noqa: E731
    try:
        if report.done == 0 and report.failed == 0:
            # the first simulation loads (or, once after installing, compiles) the kernels
            # (under 80 characters with the spinner: a status line is cut at the edge)
            with err.status("preparing the kernels (a minute, once after installing)..."):
                roisim.simulate(scenario, trials=1, threads=threads)
        update, close = _progress_callback(f"{path.name} ({n:,} trials)")
        result = roisim.simulate(scenario, trials=trials, seed=seed, threads=threads,
                                 sampling=sampling, until=until, within=within,
                                 progress=update)
        close()
        # tables, trials.parquet and charts: seconds for millions of trials
        with err.status(f"writing the results of {path.name}..."):
            folder = write_results(result, out_dir, charts=charts, drawer=drawer,
                                   manifest={"command": _command_line()})
    except BaseException as exc:
        if (stop := interruption(exc)) is not None:
            close()
            err.print(f"interrupted: results for {path} left as they were", highlight=False)
            raise typer.Exit(TERMINATED if isinstance(stop, Terminated) else INTERRUPTED) from None
        if isinstance(exc, OSError):
            report.failure(f"{path}: cannot write results to {out_dir}: {exc.strerror or exc}")
            return
        if isinstance(exc, Exception):  # a failed run must not stop the batch
            report.failure(f"{path}: {type(exc).__name__}: {exc}")
            return
        raise
    out.print(summary_table(f"{scenario.name}  ({result.n_trials:,} trials, seed "
                            f"{result.seed}, {result.wall_time:.2f} s)",
                            result.summary(), scenario.scenario.currency, out.width))
    if until is not None and not result.stop_reason.startswith("precision reached"):
        err.print(f"warning: {path}: {result.stop_reason}; raise --max-trials, or ask for a "
                  "wider --within", highlight=False)
    from roisim.report import gate_notes, measure_next, worst_decile

    for note in gate_notes(result, result.gates()):
        err.print(f"warning: {path}: {note}", highlight=False)
    out.print(measure_next(result), highlight=False)
    worst = worst_decile(result)
    if worst:
        out.print(worst, highlight=False)
    err.print(f"wrote {folder}; start with {folder / 'report.html'}", highlight=False)
    report.done += 1


def interruption(exc: BaseException) -> BaseException | None:
    """The Ctrl-C or SIGTERM behind ``exc``, itself or what caused it; None where there is none."""
    return caused_by(exc, (KeyboardInterrupt, Terminated))


def _load(path: Path, report: Report, repair: bool):  # type: ignore[no-untyped-def]
    """Load a scenario, reporting bad input and any correlation repair; None if bad."""
    import roisim

    try:
        scenario = roisim.load(path, repair_correlations=repair)
    except roisim.ScenarioError as exc:
        report.bad_input(str(exc))
        return None
    except Exception as exc:  # a fault of roisim's own, not of the file: the batch goes on
        report.failure(f"{path}: could not be checked ({type(exc).__name__}: {exc}); this is "
                       "a fault in roisim, not in the file")
        return None
    for a, b, given, used in scenario.correlation_repairs:
        err.print(f"warning: {path}: correlation {a}~{b} moved from {given:.3f} to {used:.3f} "
                  f"({used - given:+.3f}) to make the matrix valid", highlight=False)
    return scenario


@app.command(epilog=EXIT_CODES)
@_says_interrupted
def validate(
    paths: Annotated[list[Path], typer.Argument(
        parser=given_path, metavar="PATH", help="Scenario files or folders of them.")],
    repair_correlations: Annotated[bool, typer.Option(
        "--repair-correlations",
        help="Accept contradictory rank correlations, showing the nearest valid matrix.")] = False,
) -> None:
    """Check scenario files without simulating them."""
    files, problems = scenario_files(paths)
    report = Report("valid")
    for problem in problems:
        report.bad_input(problem)
    for path in files:
        scenario = _load(path, report, repair_correlations)
        if scenario is None:
            continue
        n_ini, n_plans, n_warned = len(scenario.initiatives), len(scenario.plans), len(scenario.warnings)
        warned = f", with {n_warned} warning{'s' * (n_warned != 1)}" if n_warned else ""
        out.print(f"{path}: ok ({n_ini} initiative{'s' * (n_ini != 1)}, "
                  f"{n_plans} plan{'s' * (n_plans != 1)}){warned}", highlight=False)
        report.done += 1
    raise typer.Exit(report.close())


@app.command(epilog=EXIT_CODES)
@_says_interrupted
def compare(
    folders: Annotated[list[Path], typer.Argument(
        parser=given_path, metavar="RESULTS_DIR",
        help="Result folders written by 'roisim run', or folders of them (such as results/).")],
) -> None:
    """Redraw comparisons, ranking and their charts from saved results, without simulating."""
    from roisim.output import redraw_comparison

    report = Report("compared")
    found, problems = result_folders(folders)
    for problem in problems:
        report.bad_input(problem)
    for folder in found:
        try:
            files = redraw_comparison(folder)
        except OSError as exc:
            report.failure(f"{folder}: {exc}")
            continue
        except (KeyError, ValueError) as exc:
            report.bad_input(f"{folder}: unreadable results ({type(exc).__name__}: {exc})")
            continue
        err.print(f"wrote {', '.join(files)} in {folder}", highlight=False)
        report.done += 1
    raise typer.Exit(report.close())


#: the options of commands that simulate one scenario at several values of one of its numbers
ScenarioFile = Annotated[Path, typer.Argument(parser=given_path, metavar="SCENARIO", help="A scenario file.")]
ValueTrials = Annotated[int | None, typer.Option(
    parser=trial_count, metavar="N", help="Trials of each value (default: the scenario's own).")]
ValueSeed = Annotated[int | None, typer.Option(
    min=0, metavar="N", help="Seed, the same for each value (default: the scenario's own).")]
Threads = Annotated[int | None, typer.Option(
    min=1, metavar="N", help="Worker threads (default: all cores).")]
Sampling = Annotated[str | None, typer.Option(
    metavar="DESIGN", help="random, lhs or sobol (default: the scenario's own).")]


def _values_problem(path: Path, threads: int | None, sampling: str | None) -> str | None:
    """What is wrong with the scenario file, --threads or --sampling of a sweep or solve; None if nothing."""
    import numba

    from roisim.sampling import SAMPLINGS

    if threads is not None and threads > numba.config.NUMBA_NUM_THREADS:
        return (f"--threads must be at most {numba.config.NUMBA_NUM_THREADS} (the cores numba "
                f"can use), got {threads}")
    if sampling is not None and sampling not in SAMPLINGS:
        return f"--sampling must be one of {', '.join(SAMPLINGS)}, got '{sampling}'"
    if not path.is_file():
        return (f"{path}: no such file" if not path.exists() else
                f"{path}: a folder, where a scenario file is expected")
    return None


@app.command(epilog=EXIT_CODES)
@_says_interrupted
def sweep(
    path: ScenarioFile,
    setting: Annotated[str, typer.Option(
        "--set", metavar="PLACE=V1,V2,...",
        help="The place in the scenario and its values, such as scenario.discount_rate=0.05,0.08,0.12 "
             "or 'initiatives[CRM].costs[Subscription].amount=150,200,250'.")],
    trials: ValueTrials = None,
    seed: ValueSeed = None,
    out_dir: Annotated[Path, typer.Option(
        "--out", parser=given_path, metavar="DIR", help="Folder for results.")] = Path("results"),
    threads: Threads = None,
    sampling: Sampling = None,
    charts: Annotated[bool, typer.Option(
        "--charts/--no-charts", help="Draw sweep.png.")] = True,
) -> None:
    """Simulate a scenario at several values of one of its numbers, each on the same trials.

    Writes results/<scenario>_sweep_<place>/: sweep.csv (every subject's
    summary at each value, with the change of npv from the first value,
    trial by trial), sweep.png and manifest.json.
    """
    import numba

    from roisim.output import not_replaceable
    from roisim.sweeps import folder_name, parse_setting, variants
    from roisim.sweeps import sweep as run_sweep

    signal.signal(signal.SIGTERM, _on_sigterm)
    problem = _values_problem(path, threads, sampling)
    if problem is None and (blocked := file_in_the_way(out_dir)):
        problem = f"--out {out_dir}: {blocked} is a file, where a folder is expected"
    if problem is None:
        try:
            place, values = parse_setting(setting)
        except ValueError as exc:
            problem = f"--set: {exc}"
    if problem:
        err.print(f"error: {problem}", highlight=False)
        raise typer.Exit(BAD_INPUT)
    report = Report("swept")
    scenario = _load(path, report, False)
    if scenario is None:
        raise typer.Exit(report.close())
    try:
        variants(scenario, place, values)  # every value checked before any is simulated
    except ValueError as exc:
        report.bad_input(f"{path}: --set {exc}")
        raise typer.Exit(report.close()) from None
    folder = out_dir / folder_name(scenario, place)
    if refused := not_replaceable(folder):
        report.bad_input(f"{path}: the sweep goes to {folder}, which {refused}; move it away, "
                         "or choose another --out")
        raise typer.Exit(report.close())
    n = trials or scenario.scenario.trials
    from roisim.output import run_memory
    from roisim.result import gigabytes, memory_shortfall

    per_trial, base = run_memory(scenario, False, threads or numba.config.NUMBA_NUM_THREADS)
    # one variant at a time, and the first one's npv kept for the changes from it
    if short := memory_shortfall(n, per_trial + 8 * len(scenario.subjects), base):
        need, available, fit = short
        report.bad_input(f"{path}: --trials: {n:,} trials need about {gigabytes(need)} of memory "
                         f"for each value, more than the {gigabytes(available)} available; "
                         f"expected at most about {fit:,} trials")
        raise typer.Exit(report.close())
    update, close = _progress_callback(f"{path.name}: {len(values)} values x {n:,} trials")
    try:
        with err.status("preparing the kernels (a minute, once after installing)..."):
            import roisim

            roisim.simulate(scenario, trials=1, threads=threads)
        swept = run_sweep(scenario, place, values, trials=trials, seed=seed, threads=threads,
                          sampling=sampling, progress=update)
        close()
        with err.status(f"writing the sweep of {path.name}..."):
            written = swept.save(out_dir, charts=charts, manifest={"command": _command_line()})
    except BaseException as exc:
        close()
        if interruption(exc) is not None:
            raise
        if isinstance(exc, OSError):
            report.failure(f"{path}: cannot write results to {out_dir}: {exc.strerror or exc}")
            raise typer.Exit(report.close()) from None
        if isinstance(exc, Exception):
            report.failure(f"{path}: {type(exc).__name__}: {exc}")
            raise typer.Exit(report.close()) from None
        raise
    out.print(_sweep_table(swept))
    err.print(f"wrote {written}", highlight=False)
    report.done += 1
    raise typer.Exit(report.close())


@app.command(epilog=EXIT_CODES)
@_says_interrupted
def solve(
    path: ScenarioFile,
    setting: Annotated[str, typer.Option(
        "--set", metavar="PLACE=LOW..HIGH",
        help="The place in the scenario and the range to search, such as "
             "'initiatives[CRM].costs[Subscription].amount=100..600'.")],
    goal: Annotated[str, typer.Option(
        metavar="STAT=VALUE", help="The statistic and the value it should reach: 'mean npv=0' (the "
                                   "break-even, the default), 'P(npv<0)=0.1', 'p5 npv=0', "
                                   "'P(payback<=24)=0.8'.")] = "mean npv=0",
    subjects: Annotated[list[str] | None, typer.Option(
        "--subject", metavar="NAME", help="An initiative or plan; repeat for more (default: all).")] = None,
    trials: ValueTrials = None,
    seed: ValueSeed = None,
    threads: Threads = None,
    sampling: Sampling = None,
) -> None:
    """Find the value of one of a scenario's numbers at which a statistic reaches a goal.

    The break-even price, cost or adoption of each initiative and plan (at
    which its expected NPV is 0), or where P(loss) reaches a limit: every
    value is simulated on the same trials, and the answer comes with how
    far it may be off by chance.
    """
    from roisim.sweeps import parse_goal, parse_range
    from roisim.sweeps import solve as run_solve

    signal.signal(signal.SIGTERM, _on_sigterm)
    problem = _values_problem(path, threads, sampling)
    if problem is None:
        try:
            place, low, high = parse_range(setting)
        except ValueError as exc:
            problem = f"--set: {exc}"
    if problem is None:
        try:
            parse_goal(goal)
        except ValueError as exc:
            problem = f"--goal: {exc}"
    if problem:
        err.print(f"error: {problem}", highlight=False)
        raise typer.Exit(BAD_INPUT)
    report = Report("solved")
    scenario = _load(path, report, False)
    if scenario is None:
        raise typer.Exit(report.close())
    n = trials or scenario.scenario.trials
    update, close = _progress_callback(f"{path.name}: {n:,} trials a value")
    try:
        with err.status("preparing the kernels (a minute, once after installing)..."):
            import roisim

            roisim.simulate(scenario, trials=1, threads=threads)
        table = run_solve(scenario, place, low, high, goal, subjects=subjects, trials=trials,
                          seed=seed, threads=threads, sampling=sampling, progress=update)
        close()
    except ValueError as exc:  # the place, a value of the range or a subject's name
        close()
        report.bad_input(f"{path}: {exc}")
        raise typer.Exit(report.close()) from None
    out.print(_solve_table(table, scenario, place, goal, n))
    report.done += 1
    raise typer.Exit(report.close())


def _short(x: float) -> str:
    """A figure of a table of fits or answers: four significant digits, grouped (12,350; 0.1235)."""
    from roisim.distributions import number

    return number(float(f"{x:.4g}"))


def _solve_table(table, scenario, place: str, goal: str, trials: int) -> Table:  # type: ignore[no-untyped-def]
    """Each subject's answer, how far it may be off, and the statistic there."""
    from roisim.metrics import money_text

    view = Table(title=f"{scenario.name}: {place} where {goal} ({trials:,} trials a value, the same "
                       "for each)", title_justify="left")
    for header in ("subject", "value", "± (95%)", "statistic there", "at the range's ends"):
        view.add_column(header, justify="left" if header == "subject" else "right",
                        overflow="fold")
    for subject, row in table.iterrows():
        ends = f"{_short(row.at_low)} .. {_short(row.at_high)}"
        if math.isnan(row.value):
            view.add_row(str(subject), "none in range", "", row.note, ends)
            continue
        # to two significant digits of its precision: a mean npv of 1.6e-12 ± 38 is 0 ± 38
        half = row.statistic_half_width
        decimals = max(0, 1 - math.floor(math.log10(half))) if half > 0 else 6
        there = f"{money_text(row.statistic, decimals)} ± {money_text(half, decimals)}"
        view.add_row(str(subject), _short(row.value),
                     "?" if math.isnan(row.value_half_width) else _short(row.value_half_width),
                     there + (f" ({row.note})" if row.note else ""), ends)
    return view


def _sweep_table(swept) -> Table:  # type: ignore[no-untyped-def]
    """Expected npv of every subject at each value, the best marked, with the best's P(loss)."""
    from roisim.metrics import money_decimals, money_text

    means, best = swept.table("npv_mean"), swept.best()
    decimals = money_decimals(means.to_numpy(dtype=float).ravel())
    currency = swept.scenario.scenario.currency
    table = Table(title=f"{swept.scenario.name}: expected NPV [{currency}] at each value of "
                        f"{swept.path} ({swept.trials:,} trials each, seed {swept.seed}; "
                        "* the best)", title_justify="left")
    table.add_column("value", justify="right")
    for subject in means.columns:
        table.add_column(subject, justify="right")
    table.add_column("best's P(loss)", justify="right")
    for label, row in means.iterrows():
        cells = [money_text(row[subject], decimals) + (" *" if subject == best.loc[label, "best"] else "  ")
                 for subject in means.columns]
        table.add_row(str(label), *cells, f"{best.loc[label, 'p_loss']:.1%}")
    return table


@app.command(epilog=EXIT_CODES.replace("every scenario ran", "every column was fitted"))
@_says_interrupted
def fit(
    file: Annotated[Path, typer.Argument(
        parser=given_path, metavar="FILE", help="A CSV file of observed values, a column each.")],
    columns: Annotated[list[str] | None, typer.Option(
        "--column", metavar="NAME",
        help="A column to fit; repeat for more (default: every column of numbers).")] = None,
    charts: Annotated[Path | None, typer.Option(
        "--charts", parser=given_path, metavar="DIR",
        help="Draw each column's values and best fits into DIR/fit_<column>.png.")] = None,
) -> None:
    """Fit the scenario format's distributions to observed values, best first by AICc.

    For each column: every distribution that can describe its values, with
    its parameters by maximum likelihood, ranked by AICc, with its Akaike
    weight and KS distance; then the [inputs] lines of the best fits, to
    write in a scenario file.
    """
    from roisim.fitting import csv_columns, fit_column, read_column

    if charts is not None and (blocked := file_in_the_way(charts)):
        err.print(f"error: --charts {charts}: {blocked} is a file, where a folder is expected",
                  highlight=False)
        raise typer.Exit(BAD_INPUT)
    try:
        found = csv_columns(file)
    except ValueError as exc:
        err.print(f"error: {exc}", highlight=False)
        raise typer.Exit(BAD_INPUT) from None
    named = columns is not None
    fitted, bad, observed = [], 0, {}
    for column in dict.fromkeys(columns or found):  # each once, named twice or not
        try:
            with err.status(f"fitting {column}..."):  # seconds for a million values
                observed[column] = read_column(file, column)  # read once: fit, then correlations
                fits = fit_column(file, column, observed[column])
        except ValueError as exc:
            if named:
                err.print(f"error: {exc}", highlight=False)
                bad += 1
            else:  # a column of labels or dates beside the numbers: said, and passed over
                err.print(f"warning: column '{column}' not fitted: {exc}", highlight=False)
            continue
        out.print(_fit_table(fits, file))
        for line in _fit_notes(fits):
            out.print(line, highlight=False)
        out.print()
        fitted.append(fits)
    failed = False
    if charts is not None and fitted:
        from roisim.output import slugs

        names = slugs([fits.name for fits in fitted])
        try:
            charts.mkdir(parents=True, exist_ok=True)
            for fits in fitted:
                path = charts / f"fit_{names[fits.name]}.png"
                fits.plot().savefig(path, dpi=110)
                err.print(f"wrote {path}", highlight=False)
        except OSError as exc:
            err.print(f"failed: --charts {charts}: cannot write the charts there: "
                      f"{exc.strerror or exc}", highlight=False)
            failed = True
    if fitted:
        out.print("[inputs]   # the best fits; add resample = \"monthly\" where each value is one month's",
                  highlight=False)
        for fits in fitted:
            out.print(fits.toml(), highlight=False)
    if len(fitted) > 1:
        from roisim.fitting import correlation_lines, rank_correlations

        pairs = rank_correlations({fits.name: observed[fits.name] for fits in fitted})
        lines = correlation_lines(pairs)
        out.print()
        for line in lines or ["# no two columns rank-correlated beyond chance (p < 0.05) on the "
                              f"{int(pairs['n'].iloc[0]):,} lines where all have a value"]:
            out.print(line, highlight=False)
    if not fitted and not bad:
        err.print(f"error: {file}: none of its columns could be fitted (columns: {', '.join(found)}; "
                  "each said why above)", highlight=False)
        bad = 1
    raise typer.Exit(BAD_INPUT if bad else FAILED if failed else OK)


def _fit_table(fits, file: Path) -> Table:  # type: ignore[no-untyped-def]
    """The fits of one column as a table, the values' own statistics in its first row."""
    table = Table(title=f"{fits.name} in {file}: {len(fits.values):,} values", title_justify="left")
    for header in ("dist", "ΔAICc", "weight", "KS", "mean", "sd", "P5", "P50", "P95"):
        table.add_column(header, justify="left" if header == "dist" else "right")
    seen = fits.observed
    table.add_row("(the values)", "", "", "", *(_short(seen[k]) for k in ("mean", "sd", "p5", "p50", "p95")))
    for dist, row in fits.table.iterrows():
        table.add_row(str(dist), f"{row.delta_aicc:.1f}", f"{row.weight:.0%}", f"{row.ks:.3f}",
                      *(_short(row[k]) for k in ("mean", "sd", "p5", "p50", "p95")))
    return table


def _fit_notes(fits) -> list[str]:  # type: ignore[no-untyped-def]
    """What to read from a column's fits: the best, those as good, those not fitted and why."""
    table = fits.table
    best = table.index[0]
    lines = [f"best: {fits.toml()}"]
    close = [str(d) for d in table.index[1:] if table.loc[d, "delta_aicc"] < 2]
    if close:
        lines.append(f"as good by the usual rule (ΔAICc under 2): {', '.join(close)}; choose by what "
                     "you know of the quantity (a hard minimum or maximum, a long tail)")
    if len(table) > 1 and table.loc[best, "weight"] < 0.5 and not close:
        lines.append(f"no candidate stands out (the best's weight is {table.loc[best, 'weight']:.0%})")
    low = fits.best.support()[0]
    if fits.values.min() >= 0 > low:
        below = float(fits.best.cdf(0.0))
        lines.append(f"every value is 0 or more, but the {best} has no lower bound (it puts "
                     f"{below:.2g} of its draws below 0): where the quantity cannot be negative, add "
                     "at_least = 0 to its line; a month must have one")
    shares = fits.values.min() >= 0 and fits.values.max() <= 1
    for dist, why in fits.skipped.items():
        if dist != "beta" or shares:  # a beta for values beyond 0..1 was never in question
            lines.append(f"not fitted: {dist} ({why})")
    return lines


def _command_line() -> str:
    return " ".join(["roisim", *sys.argv[1:]])


def main() -> None:
    """Console-script entry point: run the command, then end the process at once."""
    # What is imported by now lives until the process ends: frozen, no garbage
    # collection scans it again, and the chart process forked later does not
    # copy its memory by writing to it (the use gc.freeze is documented for)
    gc.freeze()
    try:
        app()
        code: object = OK
    except SystemExit as exc:  # typer ends every command this way
        code = exc.code
    except BaseException as exc:
        if (stop := interruption(exc)) is None:
            raise
        err.print("interrupted", highlight=False)
        code = TERMINATED if isinstance(stop, Terminated) else INTERRUPTED
    _end_process(code)


def _end_process(code: object) -> NoReturn:
    """Exit with ``code`` as ``sys.exit`` would, without tearing the interpreter down.

    Every result is written and closed by now. What is left of a normal exit
    is freeing each object of numpy, pandas, numba and matplotlib one by one
    (a garbage collection and every module's teardown): about 0.3 s, an
    eighth of a small run, that nothing needs. Exit handlers still run and
    the output streams are flushed, as at a normal exit.
    """
    if code is None:
        code = OK
    elif not isinstance(code, int):  # sys.exit("message"): print it, exit 1
        print(code, file=sys.stderr)
        code = FAILED
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (roisim run ... | head) or stream
            pass
    os._exit(code)
