"""Charts in a notebook: ``SimulationResult.plot`` returns the figures ``roisim run`` saves."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from conftest import SCENARIOS, initiative, initiative_text, initiatives, scenario
from matplotlib.colors import rgb_to_hsv, to_hex, to_rgb
from matplotlib.figure import Figure
from scipy import stats

import roisim
from roisim import charts
from roisim.charts import CHART_TRIALS, CHARTS, PER_SUBJECT, MoneyFormatter, line_colours, money, twins
from roisim.report import INPUT_BINS, input_name


@pytest.fixture(scope="module")
def bakery():
    return roisim.simulate(roisim.load(SCENARIOS / "bakery_catering_crm.toml"), trials=5000,
                           seed=4)


BAKERY_LINES = {"Catering CRM = All at once": "Catering CRM",
                "Pilot, then roll out if adopted": "Pilot, then roll out if adopted"}


def test_npv_cdf_draws_each_subjects_quantiles(bakery):
    fig = bakery.plot("npv_cdf")
    assert isinstance(fig, Figure)
    # the initiative and its all-at-once plan are the same in every trial: one line
    lines = fig.axes[0].get_lines()[: len(BAKERY_LINES)]
    assert [line.get_label() for line in lines] == list(BAKERY_LINES)
    probs = np.linspace(0.0, 1.0, 501)
    for line, subject in zip(lines, BAKERY_LINES.values(), strict=True):
        np.testing.assert_array_equal(line.get_xdata(), np.quantile(bakery.npv(subject), probs))
        np.testing.assert_array_equal(line.get_ydata(), probs)


@pytest.mark.parametrize("chart", ["payback_curve", "convergence"])
def test_subjects_equal_in_every_trial_are_one_line_named_after_each(bakery, chart):
    labels = [line.get_label() for line in bakery.plot(chart).axes[0].get_lines()
              if not line.get_label().startswith("_")]
    if chart == "payback_curve":  # initiatives are marked as such
        assert labels == ["Catering CRM (initiative) = All at once", "Pilot, then roll out if adopted"]
    else:
        assert labels == list(BAKERY_LINES)


def test_subjects_equal_in_every_trial_share_one_cash_fan_panel(bakery):
    fig = bakery.plot("cash_fan")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == list(BAKERY_LINES)  # were three panels, two of them the same
    for ax, subject in zip(fig.axes, BAKERY_LINES.values(), strict=False):
        np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), bakery.bands(subject)["p50"])


def test_the_convergence_axis_counts_trials_in_plain_figures(bakery):
    fig = bakery.plot("convergence")  # 5,000 trials: from 50 on
    fig.canvas.draw()
    ax = fig.axes[0]
    shown = [t.get_text() for t in ax.get_xticklabels() + ax.get_xticklabels(minor=True) if t.get_text()]
    assert "100" in shown and "1,000" in shown and not any("$" in text for text in shown)
    assert charts.CountFormatter()._num_to_string(2_000, 1, 1) == "2,000"
    assert charts.CountFormatter()._num_to_string(2_500_000, 1, 1) == "2.5M"


def test_only_subjects_equal_in_npv_and_payback_are_twins(bakery):
    profiles = bakery.profiles()
    same_npv = replace(profiles, npv={**profiles.npv, "Late twin": profiles.npv["Catering CRM"]},
                       payback={**profiles.payback, "Late twin": profiles.payback["Catering CRM"] + 1})
    assert twins(same_npv) == {"Catering CRM": ["Catering CRM", "All at once"],
                               "Pilot, then roll out if adopted": ["Pilot, then roll out if adopted"],
                               "Late twin": ["Late twin"]}


def test_roi_histogram_counts_the_trials_between_its_quantiles(bakery):
    subject = "Pilot, then roll out if adopted"
    fig = bakery.plot("roi_hist", subject)
    counts, edges, _ = fig.axes[0].patches[0].get_data()
    roi = bakery.roi(subject)[:CHART_TRIALS]
    roi = roi[np.isfinite(roi)]
    lo, hi = np.quantile(roi, [0.001, 0.999])
    shown = roi[(roi >= lo) & (roi <= hi)]
    assert counts.sum() == shown.size and len(counts) == 80
    assert (edges[0], edges[-1]) == (shown.min(), shown.max())
    assert fig.axes[0].get_title().startswith(subject)
    assert fig.axes[0].get_title().endswith(f"(P(loss) = {bakery.summary().loc[subject, 'p_loss']:.1%})")
    # what is not drawn is said, not dropped silently
    below, above = np.count_nonzero(roi < lo), np.count_nonzero(roi > hi)
    assert below and above
    assert fig.axes[0].get_xlabel().endswith(
        f"of 5,000 trials, not drawn: {below} below and {above} above the range shown")
    # the middle 90% of trials between two lines, as @RISK's delimiters, at the summary's P5 and P95
    lines = fig.axes[0].get_lines()
    p5, p95 = bakery.summary().loc[subject, ["roi_p5", "roi_p95"]]
    assert [line.get_xdata()[0] for line in lines[1:]] == [p5, p95]
    assert lines[1].get_label() == f"P5 {100 * p5:.3g}%, P95 {100 * p95:.3g}%: 90% of trials between"
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "break-even", lines[1].get_label()]
    # counts are written as the tables write them: 36,000, not 36000
    assert fig.axes[0].yaxis.get_major_formatter().format_ticks([0, 1000, 36000]) == [
        "0", "1,000", "36,000"]


def test_a_roi_histogram_says_how_many_trials_have_no_roi():
    free = initiative("""
        benefits = [{ name = "b", amount = { dist = "uniform", min = 5, max = 10 }, every = "month" }]
    """, horizon=12)
    fig = roisim.simulate(free, trials=300, seed=1).plot("roi_hist", "A")
    assert fig.axes[0].get_xlabel().endswith(
        "of 300 trials, not drawn: 300 with no costs (ROI undefined)")
    # P(loss) is P(npv < 0), as in the summary, whether or not the trials have an ROI
    assert fig.axes[0].get_title().endswith("(P(loss) = 0.0%)")


def test_an_roi_the_same_in_every_trial_but_for_rounding_is_one_bar():
    # a benefit that is a multiple of the cost: every trial's ROI is 0.1 but for its last
    # bits, a spread 80 bins cannot split; numpy refused, and the whole run failed
    same = initiative("""
        costs = [{ name = "robot", amount = "big", month = 0 }]
        benefits = [{ name = "output", amount = ["big", 1.1], month = 0, scale_with_adoption = false }]
    """, horizon=1, extra='[inputs]\nbig = { dist = "lognormal", p5 = 1e9, p95 = 5e9 }\n')
    result = roisim.simulate(same, trials=2000, seed=1)
    roi = result.roi("A")
    assert roi.min() < roi.max() and roi.max() - roi.min() < 1e-14
    ax = result.plot("roi_hist", "A").axes[0]
    counts, edges, _ = ax.patches[0].get_data()
    assert counts.max() == 2000  # one bar, the value inside it rather than on an edge
    assert edges[0] < 0.1 < edges[-1] and edges[-1] - edges[0] == pytest.approx(1.0)
    assert "not drawn" not in ax.get_xlabel()
    assert ax.get_title() == "A: ROI over 1 month (P(loss) = 0.0%)"


@pytest.mark.parametrize(("trials", "sampling"), [(1, "random"), (3, "lhs"), (17, "sobol")])
def test_every_chart_of_a_run_of_a_few_trials_is_drawn(trials, sampling, tmp_path):
    # with fewer than 20 trials EVPPI has no error (its 10 batches need two trials each):
    # a 3-trial design drew the value of information with NaN whiskers, which failed the run
    result = roisim.simulate(roisim.load(SCENARIOS / "ecommerce_pick_automation.toml"),
                             trials=trials, seed=1, sampling=sampling)
    assert np.isnan(result.value_of_information()["evppi_se"]).all()
    folder = result.save(tmp_path, charts=True)
    assert {"value_of_information.png", "spider.png", "cash_fan.png", "inputs.png"} <= {
        p.name for p in folder.iterdir()}


def test_charts_of_the_top_inputs_say_how_many_there_are():
    from roisim.sensitivity import SIGNIFICANT

    result = roisim.simulate(roisim.load(SCENARIOS / "ecommerce_pick_automation.toml"),
                             trials=100_000, seed=1)
    subject = "Leased picking robots"
    table = result.sensitivity(subject)
    inputs = len(table)
    assert (table["deciles_p_value"] < SIGNIFICANT).sum() > 12  # more than are drawn
    title = result.plot("tornado", subject)._suptitle.get_text()
    assert title.endswith(f"(the 12 of {inputs} inputs that matter most)")
    assert len(result.plot("tornado", subject).axes[0].get_yticklabels()) == 12
    # fourteen inputs of equal weight on an npv near 0: knowing any one is worth something
    names = [f"x{k}" for k in range(14)]
    benefits = ", ".join(f'{{ name = "{name}", amount = "{name}", month = 1 }}' for name in names)
    close_call = initiative(f"""
        costs = [{{ name = "c", amount = 700, month = 0 }}]
        benefits = [{benefits}]
    """, horizon=12, extra="[inputs]\n" + "\n".join(
        f'{name} = {{ dist = "uniform", min = 0, max = 100 }}' for name in names))
    fig = roisim.simulate(close_call, trials=40_000, seed=1).plot("value_of_information")
    assert fig._suptitle.get_text().endswith("(the 12 of 14 inputs that matter most)")
    assert len(fig.axes[0].get_yticklabels()) == 12


def test_the_value_of_information_chart_leaves_out_inputs_worth_nothing():
    # the e-commerce example: most inputs cannot change its decision; the long names
    # of the agency's leave its axes narrower than the x label
    for example, trials, shown in (("ecommerce_pick_automation.toml", 4000, 1),
                                   ("agency_campaign_automation.toml", 100_000, 4)):
        result = roisim.simulate(roisim.load(SCENARIOS / example), trials=trials, seed=1)
        table = result.value_of_information()
        assert (table["evppi"] > 0).sum() == shown < len(table)
        fig = result.plot("value_of_information")
        ax = fig.axes[0]
        assert [label.get_text() for label in ax.get_yticklabels()][::-1] == [
            input_name(result, name) for name in table.index[:shown]]
        assert fig._suptitle.get_text().endswith(
            f"(the {shown} of {len(table)} inputs worth anything: knowing any other would not "
            "change the decision)")
        renderer = fig.canvas.get_renderer()
        label = ax.xaxis.label.get_window_extent(renderer)
        assert fig.bbox.x0 <= label.x0 and label.x1 <= fig.bbox.x1, example
        whiskers = table["evppi"].head(shown) - 1.96 * table["evppi_se"].head(shown)
        assert ax.get_xlim()[0] == min(0.0, whiskers.min())  # 0 in view, and every whisker


def test_a_tornados_title_and_legend_stay_clear_of_its_bars_and_the_edge():
    # four costs of equal spread: every bar reaches both sides of the axes; and a
    # subject's long name beside long input names, which leave the axes narrow
    name = "Warehouse robotics for the north distribution centre, phase one of three"
    few = scenario(initiative_text("""
        costs = [{ name = "a", amount = "a", month = 0 }, { name = "b", amount = "b", month = 0 },
                 { name = "c", amount = "c", month = 0 }, { name = "d", amount = "d", month = 0 }]
        benefits = [{ name = "g", amount = 30, every = "month" }]
    """, horizon=12, extra="""
        [inputs]
        a = { dist = "uniform", min = 1, max = 100 }
        b = { dist = "uniform", min = 1, max = 100 }
        c = { dist = "uniform", min = 1, max = 100 }
        d = { dist = "uniform", min = 1, max = 100 }
    """).replace('name = "A"', f'name = "{name}"').replace('"a"', '"setup_cost_of_the_robots"')
        .replace("\na =", "\nsetup_cost_of_the_robots ="))
    fig = roisim.simulate(few, trials=4000, seed=2).plot("tornado", name)
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent(renderer)
    for bar in ax.patches:
        assert not legend.overlaps(bar.get_window_extent(renderer))
    title = fig._suptitle.get_window_extent(renderer)
    assert fig.bbox.x0 <= title.x0 and title.x1 <= fig.bbox.x1 and title.y1 <= fig.bbox.y1
    assert title.y0 > ax.get_window_extent(renderer).y1
    assert name in fig._suptitle.get_text().replace("\n", " ")


def test_the_value_of_information_legend_stays_clear_of_its_bars():
    # one input, which decides everything: its bar reaches the EVPI line, by the legend
    decisive = initiative("""
        costs = [{ name = "c", amount = 1000, month = 0 }]
        benefits = [{ name = "g", amount = ["good", 2200], month = 1 }]
    """, horizon=12, extra="""
        [inputs]
        good = { dist = "bernoulli", p = 0.5 }
    """)
    fig = roisim.simulate(decisive, trials=20_000, seed=2).plot("value_of_information")
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent(renderer)
    bars = [bar for bar in ax.patches if bar.get_width() > 0]
    assert bars and not any(legend.overlaps(bar.get_window_extent(renderer)) for bar in bars)


def test_a_payback_curve_at_100_percent_shows_clear_of_its_legend_and_the_frame():
    at_once = initiative("""
        benefits = [{ name = "g", amount = { dist = "uniform", min = 5, max = 10 }, every = "month" }]
    """, horizon=12)
    fig = roisim.simulate(at_once, trials=1000, seed=1).plot("payback_curve")
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    (line,) = ax.get_lines()
    assert set(line.get_ydata()) == {1.0} and ax.get_ylim()[1] > 1.0  # not on the frame
    assert not ax.get_legend().get_window_extent(renderer).overlaps(line.get_window_extent(renderer))


def test_charts_of_a_single_trial_say_or_show_what_there_is():
    result = roisim.simulate(roisim.load(SCENARIOS / "bakery_catering_crm.toml"), trials=1, seed=1)
    texts = [t.get_text() for t in result.plot("tornado", "Catering CRM").axes[0].texts]
    assert texts == ["no input moves the NPV in these trials"]
    ax = result.plot("convergence").axes[0]
    assert all(line.get_marker() == "o" for line in ax.get_lines())  # one point each, shown
    assert ax.get_xlim()[0] >= 0.8  # no axis below one trial
    fig = result.plot("roi_hist", "Catering CRM")
    fig.canvas.draw()
    ticks = fig.axes[0].get_yticks()
    assert all(float(t).is_integer() for t in ticks)  # counts of trials, not 0.2 of one
    # with trials enough, bars and lines as usual
    many = roisim.simulate(roisim.load(SCENARIOS / "bakery_catering_crm.toml"), trials=3000, seed=1)
    assert not many.plot("tornado", "Catering CRM").axes[0].texts
    assert all(line.get_marker() in (None, "None") for line in many.plot("convergence").axes[0].get_lines())


def test_names_in_a_script_the_fonts_lack_give_one_warning_and_no_glyph_noise(monkeypatch):
    import warnings

    from roisim import charts

    monkeypatch.setattr(charts, "font_families", lambda: ("DejaVu Sans",))  # no fallback installed
    assert charts.missing_glyphs(["Café ☕ CRM 日本", "日"]) == ["日", "本"]
    named = roisim.simulate(scenario(initiative_text("""
        benefits = [{ name = "b", amount = { dist = "uniform", min = 5, max = 10 }, every = "month" }]
        costs = [{ name = "c", amount = 50, month = 0 }]
    """, horizon=12).replace('name = "A"', 'name = "受注管理"')), trials=500, seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = named.plot("roi_hist", "受注管理")
        fig.savefig(io.BytesIO(), format="png")
    messages = [str(w.message) for w in caught]
    assert messages == ["charts of test: no installed font has 受, 注, 管, 理 (in names), which show "
                        "as boxes; a font that has them (Noto Sans CJK, for one) is used once installed"]
    assert caught[0].category is charts.FontWarning


def test_charts_fall_back_to_installed_fonts_glyph_by_glyph(monkeypatch, bakery):
    from roisim import charts

    # STIX comes with matplotlib: it stands in for a font of another script
    monkeypatch.setattr(charts, "font_families", lambda: ("DejaVu Sans", "STIXGeneral"))
    fig = bakery.plot("tornado", "Catering CRM")
    assert fig._suptitle.get_fontfamily() == ["DejaVu Sans", "STIXGeneral"]
    assert fig.axes[0].get_yticklabels()[0].get_fontfamily() == ["DejaVu Sans", "STIXGeneral"]


def test_tornado_bars_are_the_sensitivity_table(bakery):
    from roisim.sensitivity import SIGNIFICANT

    subject = "Catering CRM"
    table = bakery.sensitivity(subject)
    table = table[table["deciles_p_value"] < SIGNIFICANT].head(12).iloc[::-1]
    fig = bakery.plot("tornado", subject)
    ax = fig.axes[0]
    # named as a reader would say them: "Integration failure (risk)", not its label
    assert [label.get_text() for label in ax.get_yticklabels()] == [
        input_name(bakery, label) for label in table.index]
    assert "Integration failure (risk)" in [label.get_text() for label in ax.get_yticklabels()]
    mean = bakery.npv(subject).mean()
    lows = [bar.get_x() + bar.get_width() for bar in ax.containers[0]]
    np.testing.assert_allclose(lows, table["npv_low_decile"], rtol=1e-12)
    assert ax.containers[0][0].get_x() == pytest.approx(mean)
    # the bars' colours tell low from high, not bad from good: a high setup cost lowers
    # the npv, and its bar in green read as good news; neither is red or green
    for container in ax.containers:
        hue = rgb_to_hsv(to_rgb(container[0].get_facecolor()))[0] * 360
        assert 15 < hue < 75 or 180 < hue < 300, hue  # orange to yellow, or blues


def spread(table):
    """How far apart each input's tenths' means lie: what the spider ranks its inputs by."""
    from roisim.sensitivity import DECILE_COLUMNS

    return table[DECILE_COLUMNS].max(axis=1) - table[DECILE_COLUMNS].min(axis=1)


def strongest(table, top=5):
    """The inputs a spider's panel draws: the ``top`` furthest apart of those beyond chance."""
    from roisim.sensitivity import SIGNIFICANT

    beyond = spread(table)[table["deciles_p_value"] < SIGNIFICANT]
    return list(beyond.sort_values(ascending=False, kind="stable").index[:top])


def test_spider_lines_are_each_subjects_tenths_of_its_strongest_inputs(bakery):
    from roisim.sensitivity import DECILE_COLUMNS

    fig = bakery.plot("spider")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    # subjects equal in every trial share a panel, as in the cash fan
    assert [ax.get_title() for ax in panels] == list(BAKERY_LINES)
    colours = {}
    for ax, subject in zip(panels, BAKERY_LINES.values(), strict=True):
        table = bakery.sensitivity(subject)
        lines = [line for line in ax.get_lines() if line.get_linestyle() != ":"]
        assert len(lines) == 5
        for line, name in zip(lines, strongest(table), strict=True):
            np.testing.assert_array_equal(line.get_ydata(), table.loc[name, DECILE_COLUMNS])
            np.testing.assert_allclose(line.get_xdata(), np.arange(5, 100, 10))
            # one colour per input in every panel
            assert colours.setdefault(name, line.get_color()) == line.get_color()
        mean = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
        assert mean[0].get_ydata()[0] == pytest.approx(bakery.npv(subject).mean())
    # one legend naming each input drawn, as a reader would say it, the strongest first
    legend = next(ax.get_legend() for ax in panels if ax.get_legend())
    largest = {name: max(spread(bakery.sensitivity(s))[name] for s in BAKERY_LINES.values())
               for name in colours}
    assert [t.get_text() for t in legend.get_texts()] == [
        input_name(bakery, name) for name in sorted(colours, key=largest.get, reverse=True)]
    assert "Integration failure (risk)" in [t.get_text() for t in legend.get_texts()]


def test_a_spider_draws_an_input_that_raises_the_npv_and_then_lowers_it():
    # npv = x - x^2 - z, a hump in x: x's lowest and highest tenths have about the same mean
    # npv (a swing below z's, so below z in the tornado), and the middle ones a higher one
    hump = initiative("""
        benefits = [{ name = "hump", amount = ["x", "y"], month = 0 }]
        costs = [{ name = "cost", amount = ["x", "x"], month = 0 },
                 { name = "noise", amount = "z", month = 0 }]
    """, extra="""
        [inputs]
        x = { dist = "uniform", min = 0, max = 1 }
        y = { dist = "fixed", value = 1 }
        z = { dist = "uniform", min = 0, max = 0.01 }
    """)
    result = roisim.simulate(hump, trials=20_000, seed=1)
    table = result.sensitivity("A")
    assert abs(table.loc["x", "swing"]) < abs(table.loc["z", "swing"])
    ax = result.plot("spider").axes[0]
    labels = [line.get_label() for line in ax.get_lines() if line.get_linestyle() != ":"]
    assert labels[0] == "x"  # its tenths lie furthest apart: 0.09 against z's 0.009


#: B's npv depends on b alone: A's inputs move it by chance alone
TWO = """
[scenario]
name = "two"
horizon_months = 12
[inputs]
a1 = { dist = "uniform", min = 0, max = 1 }
a2 = { dist = "uniform", min = 0, max = 1 }
a3 = { dist = "uniform", min = 0, max = 1 }
b = { dist = "uniform", min = 0, max = 1 }
[[initiatives]]
name = "A"
benefits = [{ name = "a1", amount = "a1", month = 0 }, { name = "a2", amount = "a2", month = 0 },
            { name = "a3", amount = "a3", month = 0 }]
[[initiatives]]
name = "B"
benefits = [{ name = "b", amount = "b", month = 0 }]
"""


def test_a_spider_draws_no_input_that_moves_its_subject_by_chance_alone():
    # the inputs of A, whose tenths differ only by chance in B's trials, filled B's panel
    # up to five lines
    result = roisim.simulate(scenario(TWO), trials=20_000, seed=1)
    b_panel = result.plot("spider").axes[1]
    assert b_panel.get_title() == "B"
    assert [line.get_label() for line in b_panel.get_lines() if line.get_linestyle() != ":"] == ["b"]


def test_a_tornado_draws_no_input_that_moves_its_subject_by_chance_alone():
    from roisim.sensitivity import SIGNIFICANT

    # the e-commerce carts' tornado drew six inputs of the robots and the WMS among its twelve
    result = roisim.simulate(scenario(TWO), trials=20_000, seed=1)
    fig = result.plot("tornado", "B")
    assert [label.get_text() for label in fig.axes[0].get_yticklabels()] == ["b"]
    assert fig._suptitle.get_text().endswith(
        "(the 1 of 4 inputs that move it beyond chance; the other 3 are not drawn)")
    # none beyond chance: twenty inputs of equal weight, each a twentieth of the variance,
    # in 40 trials; said in the axes, not by a title counting nothing
    names = [f"x{k}" for k in range(20)]
    even = initiative("benefits = [" + ", ".join(
        f'{{ name = "{name}", amount = "{name}", month = 0 }}' for name in names) + "]",
        extra="[inputs]\n" + "\n".join(f'{name} = {{ dist = "uniform", min = 0, max = 1 }}'
                                        for name in names))
    result = roisim.simulate(even, trials=40, seed=1)
    assert (result.sensitivity("A")["deciles_p_value"] >= SIGNIFICANT).all()
    fig = result.plot("tornado", "A")
    assert [t.get_text() for t in fig.axes[0].texts] == ["no input moves the NPV more than chance would"]
    assert fig._suptitle.get_text() == "A: what moves the NPV"


def test_a_spider_of_one_subject_keeps_its_title_and_legend_in_the_figure():
    # one panel is narrower than the title's sentence, which ran off both sides
    one = initiative("""
        costs = [{ name = "k", amount = 3000, month = 0 }]
        benefits = [{ name = "s", amount = 400, every = "month" }]
        risks = [{ name = "Breaks", probability = 0.2, cost = 1500 }]
        """)
    fig = roisim.simulate(one, trials=2000, seed=1).plot("spider")
    fig.canvas.draw()
    for artist in (fig._suptitle, fig.axes[0].get_legend()):
        box = artist.get_window_extent()
        assert 0 <= box.x0 and box.x1 <= fig.bbox.width and box.y1 <= fig.bbox.height
    assert fig._suptitle.get_text().replace("\n", " ").endswith(
        "(every input that moves its NPV beyond chance; dotted: mean NPV)")


def test_a_spider_of_many_inputs_names_each_panels_own_below_it(bakery, monkeypatch):
    # a crowded scenario's one legend of 80 inputs told no line apart: past SPIDER_SHARED
    # inputs in all, each panel names its own five, in the first five colours
    monkeypatch.setattr(charts, "SPIDER_SHARED", 3)
    fig = bakery.plot("spider")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert not fig.legends and len(panels) == 2
    for ax, subject in zip(panels, BAKERY_LINES.values(), strict=True):
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [
            input_name(bakery, name) for name in strongest(bakery.sensitivity(subject))]
        assert [line.get_color() for line in ax.get_lines()[:5]] == [f"C{k}" for k in range(5)]
        # below the axes, and inside the figure
        fig.canvas.draw()
        box = ax.get_legend().get_window_extent()
        assert box.y1 <= ax.get_window_extent().y0 and box.y0 >= 0


@pytest.mark.parametrize("chart", [c for c in CHARTS if c not in PER_SUBJECT])
def test_every_chart_of_every_subject_is_a_figure_a_notebook_shows(bakery, chart):
    fig = bakery.plot(chart)
    assert isinstance(fig, Figure) and fig.axes
    # IPython shows an object by its _repr_png_ where no formatter claims its type
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_chart_requests_say_what_was_expected(bakery):
    with pytest.raises(ValueError, match=r"unknown chart 'histogram' \(charts: roi_hist, "):
        bakery.plot("histogram")
    with pytest.raises(ValueError, match=r"unknown chart 'tornados'; did you mean 'tornado'\? \("):
        bakery.plot("tornados", "Catering CRM")
    with pytest.raises(ValueError, match="chart 'roi_hist' is drawn for one subject: pass "
                                         "subject= one of 'Catering CRM', "):
        bakery.plot("roi_hist")
    with pytest.raises(ValueError, match="chart 'npv_cdf' shows every subject: pass no subject"):
        bakery.plot("npv_cdf", "Catering CRM")
    with pytest.raises(KeyError, match="no initiative or plan named 'Catering'; did you mean "
                                       r"'Catering CRM'\? \(subjects: "):
        bakery.plot("tornado", "Catering")


def test_prioritisation_without_scores_is_an_error_not_an_empty_chart():
    scenario = roisim.load(SCENARIOS / "bakery_catering_crm.toml")
    unscored = scenario.model_copy(update={"initiatives": [
        ini.model_copy(update={"strategic_impact": None, "feasibility": None})
        for ini in scenario.initiatives]})
    result = roisim.simulate(unscored, trials=1000, seed=1)
    with pytest.raises(ValueError, match="no initiative has both strategic_impact"):
        result.plot("prioritisation")


def test_prioritisation_shows_initiatives_apart_and_names_those_not_scored():
    base = initiatives(["Alpha", "Beta", "Gamma"])
    scores = [(4, 4), (4, 4), (None, None)]
    doc = base.model_copy(update={"initiatives": [
        ini.model_copy(update={"strategic_impact": impact, "feasibility": feasibility})
        for ini, (impact, feasibility) in zip(base.initiatives, scores, strict=True)]}).document()
    doc["plans"] = [{"name": "Alpha pilot",
                     "phases": [{"initiative": "Alpha", "start_month": 0, "share": 0.3}]}]
    result = roisim.simulate(roisim.parse(doc), trials=4000, seed=1)
    # the plan shares Alpha's scores in the ranking, but the matrix is of initiatives
    assert result.ranking().loc["Alpha pilot", "strategic_impact"] == 4
    fig = result.plot("prioritisation")
    ax = fig.axes[0]
    assert ax.get_title().endswith("\nnot shown, without both scores: Gamma")
    assert sorted(text.get_text().split(":")[0] for text in ax.texts) == ["Alpha", "Beta"]
    # the two initiatives scored alike are drawn apart, each labelled clear of both markers
    centres = ax.collections[0].get_offsets()
    assert len(centres) == 2 and np.hypot(*(centres[0] - centres[1])) >= 0.5
    renderer = fig.canvas.get_renderer()
    for text in ax.texts:
        box = text.get_window_extent(renderer)
        radius = np.sqrt(ax.collections[0].get_sizes().max()) / 2 * fig.dpi / 72
        for x, y in ax.transData.transform(centres):  # no corner of the text inside a marker
            corners = [(box.x0, box.y0), (box.x1, box.y0), (box.x0, box.y1), (box.x1, box.y1)]
            assert all(np.hypot(cx - x, cy - y) > radius for cx, cy in corners), text.get_text()


def test_charts_of_inputs_are_an_error_where_there_is_no_input():
    fixed = initiative("""
        costs = [{ name = "fee", amount = 900, month = 0 }]
        benefits = [{ name = "time", amount = 100, every = "month" }]
        """, horizon=12)
    result = roisim.simulate(fixed, trials=100, seed=1)
    for chart, subject in (("tornado", "A"), ("value_of_information", None)):
        with pytest.raises(ValueError, match=f"chart '{chart}' shows the inputs, and the "
                                             "scenario has none"):
            result.plot(chart, subject)
    with pytest.raises(ValueError, match="chart 'inputs' shows the inputs' distributions, and the "
                                         "scenario has none"):
        result.plot("inputs")
    assert isinstance(result.plot("npv_cdf"), Figure)


def test_charts_leave_a_notebooks_matplotlib_as_it_was(tmp_path):
    # a notebook's backend, and pyplot's figures, are its own: drawing roisim's charts
    # neither switches the backend nor adds figures that pyplot would show a second time
    code = f"""
import sys
from dataclasses import replace
import matplotlib
import roisim
result = roisim.simulate(roisim.load({str(SCENARIOS / "bakery_catering_crm.toml")!r}), trials=500)
fig = result.plot("cash_fan")
fig.savefig({str(tmp_path / "fan.png")!r})
assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
print(matplotlib.get_backend())
"""
    env = {**os.environ, "MPLBACKEND": "svg"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "svg"
    assert (tmp_path / "fan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("ticks", "labels"), [
    ([1000, 1200, 1400], ["1,000", "1,200", "1,400"]),  # were all "1k"
    ([0, 50_000, 100_000], ["0", "50k", "100k"]),
    ([-12_500, -10_000, -7_500], ["-12.5k", "-10.0k", "-7.5k"]),
    ([1e6, 1.25e6, 1.5e6], ["1.00M", "1.25M", "1.50M"]),
    ([0.2, 0.4], ["0.2", "0.4"]),
])
def test_money_ticks_are_told_apart_in_one_unit(ticks, labels):
    assert MoneyFormatter().format_ticks(ticks) == labels


@pytest.mark.parametrize(("value", "text"), [(97_140.0, "97.1k"), (-127_300.0, "-127k"),
                                             (1_470.4, "1,470"), (2_345_678.0, "2.35M")])
def test_a_single_amount_keeps_three_digits(value, text):
    assert money(value) == text


@pytest.fixture(scope="module")
def fourteen():
    names = [f"Automation project number {k} with a long descriptive name" for k in range(1, 15)]
    return roisim.simulate(initiatives(names), trials=2000, seed=1)


def test_labels_that_fit_are_written_beside_their_points(bakery):
    fig = bakery.plot("risk_return")
    texts = [text.get_text() for text in fig.axes[0].texts]
    # the initiative and its all-at-once plan lie on one point and share a label
    assert sorted(texts) == ["Catering CRM / All at once", "Pilot, then roll out if adopted"]
    assert fig.axes[0].get_legend() is None


def test_a_name_that_does_not_fit_beside_its_point_goes_above_it():
    # the agency's two initiatives: a name above right of the point at feasibility 3
    # runs into the colour bar and above left out of the figure; both went to
    # numbers with a key, where centred above the point it fits
    result = roisim.simulate(roisim.load(SCENARIOS / "agency_campaign_automation.toml"),
                             trials=2000, seed=1)
    fig = result.plot("prioritisation")
    ax = fig.axes[0]
    assert ax.get_legend() is None
    texts = {text.get_text().split(":")[0]: text for text in ax.texts}
    assert set(texts) == {"Reporting automation", "Email and ad workflow automation"}
    renderer = fig.canvas.get_renderer()
    boxes = [text.get_window_extent(renderer) for text in texts.values()]
    inside = ax.get_window_extent(renderer)
    assert all(inside.x0 <= b.x0 and b.x1 <= inside.x1 for b in boxes)
    assert not boxes[0].overlaps(boxes[1])


@pytest.mark.parametrize("chart", ["risk_return", "prioritisation"])
def test_labels_that_would_collide_become_numbers_with_a_key(fourteen, chart):
    fig = fourteen.plot(chart)
    ax = fig.axes[0]
    assert [text.get_text() for text in ax.texts] == [str(k) for k in range(1, 15)]
    key = [text.get_text() for text in ax.get_legend().get_texts()]
    order = fourteen.ranking().index  # both charts number the subjects in ranking order
    assert [entry.split("   ", 1)[1].split(":")[0] for entry in key] == list(order)
    # the key lies beside the axes, inside the figure
    renderer = fig.canvas.get_renderer()
    box, axes_box = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
    assert box.x0 >= axes_box.x1 or box.y1 <= axes_box.y0
    assert fig.bbox.contains(box.x0, box.y0) and fig.bbox.contains(box.x1, box.y1)


@pytest.mark.parametrize("chart", ["npv_cdf", "payback_curve", "convergence"])
def test_many_lines_get_colours_of_their_own_and_a_legend_beside_them(fourteen, chart):
    ax = fourteen.plot(chart).axes[0]
    colours = [to_hex(line.get_color()) for line in ax.get_lines() if not
               line.get_label().startswith("_")]
    assert len(colours) == 14 and len(set(colours)) == 14
    assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1
    assert len(set(map(to_hex, line_colours(25)))) == 25


@pytest.mark.parametrize("chart", ["npv_cdf", "payback_curve", "convergence", "risk_return"])
def test_a_legend_too_long_for_one_column_takes_several_and_stays_in_the_figure(chart):
    # 32 subjects: in one column the legend ran past the figure's bottom, and the
    # last eight were cut off
    result = roisim.simulate(initiatives([f"Tool {k:02d}" for k in range(1, 33)]), trials=500,
                             seed=1)
    fig = result.plot(chart)
    legend = fig.axes[0].get_legend()
    fig.draw_without_rendering()  # places the legend's texts
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    columns = {round(text.get_window_extent(renderer).x0) for text in legend.get_texts()}
    assert len(legend.get_texts()) == 32 and len(columns) >= 2
    assert fig.bbox.contains(box.x0, box.y0) and fig.bbox.contains(box.x1, box.y1)


@pytest.mark.parametrize("chart", ["risk_return", "prioritisation"])
def test_the_numbers_of_crowded_points_cover_neither_each_other_nor_other_points(chart):
    # 32 points: numbered all above right of their points, "10" ran into "11", and
    # onto its neighbour's marker in risk_return (in prioritisation the bubbles of
    # one cell overlap one another, so a number may have to lie on another's)
    result = roisim.simulate(initiatives([f"Tool {k:02d}" for k in range(1, 33)]), trials=500,
                             seed=1)
    fig = result.plot(chart)
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    numbers = [text.get_window_extent(renderer) for text in ax.texts]
    assert [text.get_text() for text in ax.texts] == [str(k) for k in range(1, len(numbers) + 1)]
    assert not any(a.overlaps(b) for k, a in enumerate(numbers) for b in numbers[k + 1:])
    if chart == "prioritisation":
        return
    points = ax.collections[0]
    centres = points.get_offset_transform().transform(points.get_offsets())
    radius = np.broadcast_to(np.sqrt(points.get_sizes()) / 2 * fig.dpi / 72, (len(centres),))
    for k, box in enumerate(numbers):  # a number may touch its own point's marker only
        hit = [i for i, ((x, y), r) in enumerate(zip(centres, radius, strict=True))
               if box.x0 < x + r and x - r < box.x1 and box.y0 < y + r and y - r < box.y1]
        assert hit in ([], [k]), (k + 1, hit)


def test_a_legend_that_would_cover_a_line_goes_beside_the_axes():
    def legend_beside(y: np.ndarray) -> bool:
        fig, ax = charts._subplots(figsize=(6, 4))
        ax.plot(np.linspace(0, 1, y.size), y, label="a")
        ax.plot([0, 1], [0.5, 0.5], label="b")
        charts._legend(ax, "best")
        renderer = fig.canvas.get_renderer()
        return ax.get_legend().get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1

    assert not legend_beside(np.linspace(0.4, 0.6, 50))  # the corners are free
    # a line through every place a legend may take inside (a zigzag over the whole axes)
    assert legend_beside(np.tile([0.0, 1.0], 200))


def test_the_cash_fans_title_stays_clear_of_its_panels(fourteen):
    fig = fourteen.plot("cash_fan")
    renderer = fig.canvas.get_renderer()
    title = fig._suptitle.get_window_extent(renderer)
    tops = [ax.title.get_window_extent(renderer).y1 for ax in fig.axes if ax.get_visible()]
    assert title.y0 > max(tops)
    assert fig.bbox.x0 <= title.x0 and title.x1 <= fig.bbox.x1 and title.y1 <= fig.bbox.y1


def test_the_cash_fan_says_its_bands_come_from_a_sample(bakery):
    title = bakery.plot("cash_fan")._suptitle.get_text()
    assert title == "Cumulative cash (undiscounted)\nbands from the first 4,096 of 5,000 trials"
    small = roisim.simulate(bakery.scenario, trials=1000, seed=1)
    assert small.plot("cash_fan")._suptitle.get_text() == "Cumulative cash (undiscounted)"
    bands = bakery.bands("Catering CRM")
    paths = bakery.outcomes.band_paths[0]
    assert paths.shape[0] == 4096
    np.testing.assert_allclose(bands["p50"], np.percentile(paths, 50, axis=0))


def test_the_value_of_information_chart_says_when_no_input_is_worth_measuring():
    def chart_texts(cost: float) -> list[str]:
        one = initiative(f"""
            costs = [{{ name = "fee", amount = {cost}, month = 0 }}]
            benefits = [{{ name = "b", amount = {{ dist = "uniform", min = 0, max = 100 }},
                          every = "month" }}]
            """, horizon=12)
        axes = roisim.simulate(one, trials=4000, seed=1).plot("value_of_information").axes[0]
        if axes.texts:  # no bar, and an axis from 0 (to the EVPI)
            assert not axes.patches and not axes.get_yticks().size and axes.get_xlim()[0] == 0
        return [text.get_text() for text in axes.texts]

    # a close call (npv about 0 either way): knowing the benefit decides it
    assert chart_texts(600.0) == []
    # always pays: nothing can change the decision to go ahead
    assert chart_texts(100.0) == [
        "no single input is worth measuring first:\nnone changes the decision on its own"]


def test_a_one_month_horizon_still_shows_its_month():
    one = initiative("""
        costs = [{ name = "fee", amount = 90, month = 0 }]
        benefits = [{ name = "b", amount = { dist = "normal", mean = 100, sd = 50 }, month = 0 }]
        """, horizon=1)
    result = roisim.simulate(one, trials=2000, seed=1)
    ax = result.plot("payback_curve").axes[0]
    line = ax.get_lines()[0]
    assert line.get_marker() == "o"  # one point: a step of it would draw nothing
    assert line.get_ydata()[0] == pytest.approx(np.mean(result.npv("A") >= 0))
    assert ax.get_xlim() == (-0.5, 0.5) and shown_ticks(ax) == [0]
    fan = result.plot("cash_fan").axes[0]
    band = fan.collections[0].get_paths()[0].vertices
    assert (band[:, 0].min(), band[:, 0].max()) == (-0.5, 0.5)  # half a month either side
    assert shown_ticks(fan) == [0]


def shown_ticks(ax) -> list[float]:
    lo, hi = ax.get_xlim()
    return [float(t) for t in ax.get_xticks() if lo <= t <= hi]


def test_the_inputs_chart_sets_each_inputs_draws_against_the_distribution_stated():
    result = roisim.simulate(initiative("""
        go_live_month = { dist = "triangular", min = 0, mode = 1, max = 3 }
        costs = [{ name = "fee", amount = ["fee", "vat"], every = "month" },
                 { name = "tips", amount = "tip", month = 1 }]
        benefits = [{ name = "orders", amount = ["orders", "margin"], every = "month" }]
        """, horizon=12, extra="""
        [inputs]
        fee = { dist = "normal", mean = 100, sd = 20, at_least = 90 }
        vat = { dist = "fixed", value = 1.2 }
        margin = { dist = "choice", values = [10, 20, 10], weights = [1, 1, 2] }
        orders = { dist = "poisson", mean = 150, resample = "monthly" }
        tip = { dist = "choice", values = [1, 1.01, 100] }
        """), trials=3000, seed=2)
    fig = result.plot("inputs")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    # a constant has nothing to show
    assert [ax.get_title() for ax in panels] == ["fee", "margin", "orders (each month)", "tip",
                                                 "go live month (A)"]
    drawn = result.inputs()

    def steps(ax):  # (draws' shares, stated probabilities, edges) of a panel of bins
        filled, outline = (p.get_data() for p in ax.patches)
        np.testing.assert_array_equal(filled.edges, outline.edges)
        return filled.values, outline.values, filled.edges

    # a truncated normal, bin by bin, against scipy's, from the truncation up
    shares, stated, edges = steps(panels[0])
    assert edges[0] == 90.0  # the bound, not the draws' 0.1 percentile
    np.testing.assert_array_equal(shares, np.histogram(drawn["fee"], bins=edges)[0] / 3000)
    np.testing.assert_allclose(stated, np.diff(stats.truncnorm(-0.5, np.inf, 100, 20).cdf(edges)),
                               rtol=1e-9)
    # a choice: a bar for each value, its weights added up where a value is listed twice
    ax = panels[1]
    assert [bar.get_x() + bar.get_width() / 2 for bar in ax.patches] == [10.0, 20.0]
    assert [bar.get_height() for bar in ax.patches] == [np.mean(drawn["margin"] == v) for v in (10, 20)]
    np.testing.assert_allclose(ax.collections[0].get_segments()[0][:, 1], 0.75)
    np.testing.assert_allclose(ax.collections[0].get_segments()[1][:, 1], 0.25)
    # an input drawn each month: the months of the first 200 trials, in bins of whole counts
    shares, stated, edges = steps(panels[2])
    months = result.monthly_sample()["orders"]
    assert len(months) == 200 * 12
    assert np.all(np.diff(edges) == np.diff(edges)[0]) and np.all(edges % 1 == 0.5)
    np.testing.assert_array_equal(shares, np.histogram(months, bins=edges)[0] / len(months))
    np.testing.assert_allclose(stated, np.diff(stats.poisson(150).cdf(edges)), atol=1e-12)
    assert "first 200 trials" in fig.texts[0].get_text()
    # outcomes closer together than a bin is wide share bins, as observations do
    shares, stated, edges = steps(panels[3])
    assert len(edges) == INPUT_BINS + 1 and (edges[0], edges[-1]) == (1.0, 100.0)
    np.testing.assert_allclose(stated[[0, -1]], [2 / 3, 1 / 3])
    np.testing.assert_array_equal(shares, np.histogram(drawn["tip"], bins=edges)[0] / 3000)


def test_an_inputs_chart_of_one_trial_spans_room_around_its_draws():
    result = roisim.simulate(roisim.load(SCENARIOS / "bakery_catering_crm.toml"), trials=1, seed=1)
    # a continuous input's panel spans its draws' percentiles: here the one draw, alone
    panels = [ax for ax in result.plot("inputs").axes if ax.get_visible()]
    assert len(panels) == 10
    for ax in (ax for ax in panels if "each month" not in ax.get_title()):  # a count, in bars
        lo, hi = ax.patches[0].get_data().edges[[0, -1]]
        shares = ax.patches[0].get_data().values
        assert hi > lo and shares.sum() == 1.0, ax.get_title()


@pytest.mark.parametrize("names", [["a_saving_named_at_such_length_that_its_title_wraps_onto_three_lines"
                                    "_even_in_a_panel_as_wide_as_this_one"],
                                   [f"saving_{k}" for k in range(5)] + ["a_saving_named_at_such_length"
                                                                        "_that_its_title_wraps"]])
def test_the_inputs_charts_texts_stay_clear_of_each_other_and_in_the_figure(names):
    inputs = "\n".join(f'{name} = {{ dist = "pert", min = 1, mode = 2, max = 9 }}' for name in names)
    benefits = ", ".join(f'{{ name = "b{k}", amount = "{name}", every = "month" }}'
                         for k, name in enumerate(names))
    result = roisim.simulate(initiative(f"""
        costs = [{{ name = "fee", amount = 10, month = 0 }}]
        benefits = [{benefits}]
        """, horizon=12, extra=f"[inputs]\n{inputs}\n"), trials=500, seed=1)
    fig = result.plot("inputs")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.get_visible()]
    texts = [fig._suptitle.get_window_extent(renderer), fig.legends[0].get_window_extent(renderer)]
    texts += [ax.title.get_window_extent(renderer) for ax in panels]
    boxes = texts + [ax.get_tightbbox(renderer) for ax in panels]  # ticks and their labels
    for box in boxes:
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 and 0 <= box.y0 and box.y1 <= fig.bbox.y1
    # no text over another, nor over a panel's frame or ticks
    for i, box in enumerate(texts):
        for j, other in enumerate(boxes):
            if i != j and not (i >= 2 and j == i + len(panels)):  # a panel holds its own title
                assert not box.overlaps(other), (i, j)


def test_a_spider_whose_panels_draw_five_inputs_and_fewer_says_so():
    six = TWO.replace('[[initiatives]]\nname = "A"', "".join(
        f'a{k} = {{ dist = "uniform", min = 0, max = 1 }}\n' for k in range(4, 7))
        + '[[initiatives]]\nname = "A"').replace(
        '{ name = "a3", amount = "a3", month = 0 }]', '{ name = "a3", amount = "a3", month = 0 }, '
        + ", ".join(f'{{ name = "a{k}", amount = "a{k}", month = 0 }}' for k in range(4, 7)) + "]")
    fig = roisim.simulate(scenario(six), trials=20_000, seed=1).plot("spider")
    assert [len([line for line in ax.get_lines() if line.get_linestyle() != ":"])
            for ax in fig.axes[:2]] == [5, 1]
    assert ("(each panel: the 5 inputs that move its NPV most, or fewer where fewer move it "
            "beyond chance; dotted: mean NPV)") in " ".join(fig.texts[0].get_text().split())


def test_the_inputs_chart_draws_a_long_tail_on_a_log_scale_and_a_count_by_its_values():
    result = roisim.simulate(initiative("""
        costs = [{ name = "fee", amount = 10, month = 0 }]
        benefits = [{ name = "b", amount = ["skew", "u", "rare", "tiny", "some"], every = "month" }]
        """, horizon=12, extra="""
        [inputs]
        skew = { dist = "lognormal", p5 = 1, p95 = 1000000 }
        u = { dist = "beta", alpha = 0.5, beta = 0.5 }
        rare = { dist = "poisson", mean = 0.2 }
        tiny = { dist = "uniform", min = 0.000001, max = 0.000002 }
        some = { dist = "poisson", mean = 3 }
        """), trials=4000, seed=3)
    skew, u, rare, tiny, some = (ax for ax in result.plot("inputs").axes if ax.get_visible())
    # a count of a few values: ticks on whole numbers only
    assert len(some.patches) > 6 and all(t == round(t) for t in some.get_xticks())
    # on an even scale a lognormal from 1 to a million is one bar; its bins are even in the log
    assert skew.get_xscale() == "log" and u.get_xscale() == "linear"
    edges = skew.patches[1].get_data().edges
    np.testing.assert_allclose(np.diff(np.log(edges)), np.log(edges[1] / edges[0]))
    sigma = np.log(1e6) / (2 * stats.norm.ppf(0.95))
    np.testing.assert_allclose(skew.patches[1].get_data().values,
                               np.diff(stats.lognorm(sigma, scale=1000.0).cdf(edges)), rtol=1e-9)
    drawn = result.inputs()["skew"]
    assert drawn.min() < edges[0]  # the 0.1% below the panel are not drawn
    np.testing.assert_array_equal(skew.patches[0].get_data().values,
                                  np.histogram(drawn, bins=edges)[0] / len(drawn))
    # a bounded input keeps its bounds, even where its draws come as near 0 as 1e-6
    assert tuple(u.patches[0].get_data().edges[[0, -1]]) == (0.0, 1.0)
    # a count's far tail is cut at 0.1%: bars for 0 to 3, not stairs out to 48
    assert [bar.get_x() + bar.get_width() / 2 for bar in rare.patches] == [0.0, 1.0, 2.0, 3.0]
    np.testing.assert_allclose(rare.collections[0].get_segments()[1][:, 1], stats.poisson(0.2).pmf(1))
    # ticks of millionths told apart
    tiny.figure.canvas.draw()
    labels = [t.get_text() for t in tiny.get_xticklabels() if t.get_text()]
    assert len(set(labels)) == len(labels) > 2 and "e-06" in labels[1]


def test_the_scatter_chart_draws_each_trials_npv_against_the_tornados_inputs(bakery):
    from roisim.charts import SCATTER_TRIALS
    from roisim.report import input_name
    from roisim.sensitivity import DECILE_COLUMNS, beyond_chance

    subject = "Catering CRM"
    fig = bakery.plot("scatter", subject)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    table = bakery.sensitivity(subject)
    spread = table[DECILE_COLUMNS].max(axis=1) - table[DECILE_COLUMNS].min(axis=1)
    expected = list(spread[beyond_chance(table) & (spread > 0)].sort_values(ascending=False).index[:6])
    assert [ax.get_title().replace("\n", " ").split(" (rank correlation")[0] for ax in panels] == [
        input_name(bakery, name) for name in expected]
    npv = bakery.npv(subject)
    inputs = bakery.analysis_inputs()
    for ax, name in zip(panels, expected, strict=True):
        # each point a trial: its npv, the first SCATTER_TRIALS of them
        np.testing.assert_array_equal(ax.collections[0].get_offsets()[:, 1], npv[:SCATTER_TRIALS])
        x = inputs[name].to_numpy(float)
        line = ax.get_lines()[0]
        if np.unique(x).size <= 10:  # a risk: the mean npv struck and not
            struck = npv[:x.size][x == 1.0].mean()
            assert line.get_ydata()[-1] == pytest.approx(struck)
        else:
            np.testing.assert_allclose(line.get_ydata(), table.loc[name, DECILE_COLUMNS].to_numpy(float))
        assert f"{table.loc[name, 'spearman']:+.2f}" in ax.get_title()
    with pytest.raises(ValueError, match="chart 'scatter' is drawn for one subject"):
        bakery.plot("scatter")
