"""The cash forecast: dollars expected by week and payer from the claims still open, with
intervals, and its backtest from past cut-offs.

Each open claim of the ledger (a pending claim, or an open denial still owed) is cash
that may arrive: its amount owed, times the chance it pays (`p_paid`), spread over the
coming weeks by when its payer pays. Timing is the payer's own: the distribution of days
from submission to payment (pending claims) or from the denial to the money recovered
(open denials), estimated by Kaplan-Meier over the last `LOOKBACK_DAYS` so claims still
waiting count as "not paid yet" rather than being left out (which would make payers look
faster than they are), and conditioned on the days the claim has already waited: a claim
40 days old cannot pay at day 10, and one older than every delay its payer has shown
counts on nothing. Money past the horizon is left out.

Chance alone (which claims pay, and when) gives a spread that is far too narrow: with
thousands of claims it averages out, while the real errors are systematic (a payer slower
this month, a denial rate drifting). So the intervals are calibrated on the forecast's own
errors at earlier cut-offs whose weeks have all been seen by the as-of date (split
conformal): each cell's error is scaled by sqrt(chance variance + (tau x forecast)^2), tau
the relative systematic spread those cut-offs showed for that week ahead (the first weeks'
cash is most of the open claims and errs by a few percent; the last weeks' is what is left
of the payers' slow tail and of appeals, and errs by far more), and the interval is the
forecast plus the scaled errors' quantiles. Without calibration cut-offs the interval is
chance alone, and says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import NormalDist

import numpy as np
import pandas as pd

from analytics.ledger import claim_ledger
from data_contracts.reader import ContractData

WEEK_DAYS = 7
LOOKBACK_DAYS = 365
"""History the rates and delays are learned from: the claims submitted in the last year."""
MIN_EVENTS = 30
"""Fewest payments (or recoveries) of a payer whose own timing and rates are trusted; a
payer with fewer is given the whole book's."""
NEVER = 10_000
"""The follow-up, in days, of a denial closed without recovery: it never pays."""
CALIBRATION_CUTOFFS = 8
CALIBRATION_STEP_DAYS = 14
BACKTEST_CUTOFFS = 26
"""A backtest's cut-offs by default: a year of them, a fortnight apart. Fewer give a coverage
figure that is mostly noise: the 8 weeks of one cut-off err together, so 6 cut-offs (48
week totals) swung the 80% interval's coverage by ±10 points from seed to seed."""
ALL_PAYERS = "(all)"
"""The `payer_id` of each week's total row."""
PENDING, DENIAL = "pending", "denial"
COLUMNS = ["week_start", "week", "payer_id", "expected", "low", "high", "claims"]


@dataclass(frozen=True)
class Calibration:
    """The forecast's errors at earlier cut-offs, which set the intervals' width.

    Per level (`payer`: payer-weeks, `total`: weeks), `tau` is the relative systematic
    spread of each week ahead (0 first) and `scores` the errors divided by their scale, so a
    new cell's interval is its forecast plus the scores' quantiles times its own scale."""

    cutoffs: tuple[date, ...]
    tau: dict[str, np.ndarray]
    scores: dict[str, np.ndarray] = field(repr=False)

    def bounds(self, level: str, coverage: float) -> tuple[float, float]:
        """Split-conformal quantiles of the scores: with n scores, the k-th smallest for
        k = ceil((n + 1) x upper share), so the interval covers at least `coverage` of a
        new exchangeable cell (infinite when there are too few scores for it)."""
        scores = np.sort(self.scores[level])
        n = len(scores)
        tail = (1 - coverage) / 2
        upper = math.ceil(round((n + 1) * (1 - tail), 9))  # round: 20 x 0.9 is 18, not 18.0...1
        lower = math.floor(round((n + 1) * tail, 9))
        high = scores[upper - 1] if 1 <= upper <= n else math.inf
        low = scores[lower - 1] if 1 <= lower <= n else -math.inf
        return float(low), float(high)


@dataclass(frozen=True)
class Backtest:
    """Forecast against actual at each cut-off: `cells` one row per cut-off x week x payer
    (and each week's total, payer `ALL_PAYERS`), `summary` the error and coverage figures."""

    cells: pd.DataFrame
    summary: dict[str, float | int | str]


def ledger_as_of(ledger: pd.DataFrame) -> date:
    """The date a ledger was made as of (its claims' submission date plus their age)."""
    known = (ledger["submission_date"] + pd.to_timedelta(ledger["age_days"], unit="D")).dropna()
    if known.empty:
        raise ValueError("an empty ledger has no as-of date: give as_of")
    return known.max().date()


def cash_forecast(
    ledger: pd.DataFrame,
    p_paid: pd.Series | None = None,
    weeks: int = 8,
    level: float = 0.8,
    as_of: date | None = None,
    calibration: Calibration | None = None,
) -> pd.DataFrame:
    """Cash expected from the ledger's open claims in each of the `weeks` weeks after
    `as_of` (default: the ledger's date), by payer, with a `level` interval.

    One row per week and payer with any cash expected, then each week's total (payer
    `ALL_PAYERS`): `week_start` (the day after `as_of`, then every 7 days), `week` (0 first),
    `expected`, `low`, `high` (dollars), `claims` (open claims that may pay that week), and
    `p_paid_from` and `interval_from` saying where P(paid) and the interval came from.
    `p_paid` is P(cash) per claim_id from a model (1 - p_denial for a pending claim,
    P(recover) for an open denial); claims it leaves out, or all without it, take the
    ledger's own rates. `calibration` (see `calibrate`) widens the intervals by the errors
    of earlier cut-offs; without it they are chance alone, which is too narrow."""
    as_of = as_of or ledger_as_of(ledger)
    cells, source = _expected_cells(ledger, as_of, weeks, p_paid)
    return _with_intervals(cells, as_of, calibration, level).assign(p_paid_from=source)


def _expected_cells(
    ledger: pd.DataFrame, as_of: date, weeks: int, p_paid: pd.Series | None
) -> tuple[pd.DataFrame, str]:
    """Expected dollars and their chance variance per week and payer (and each week's
    total), and where P(paid) came from."""
    history = ledger[ledger["age_days"] <= LOOKBACK_DAYS]
    payers = pd.Index(sorted(ledger["payer_id"].dropna().unique()), dtype="string")
    owed = ledger["ar_balance"].to_numpy(float)
    open_rows = owed > 0
    claims = ledger[open_rows]
    payer = payers.get_indexer(claims["payer_id"])
    pending = ~claims["adjudicated"].to_numpy(bool)
    cdf = {PENDING: _payment_delays(history, payers), DENIAL: _recovery_delays(history, payers)}
    share = {PENDING: _payment_share(history, payers), DENIAL: _recovery_share(history, payers)}
    waited = np.where(
        pending,
        claims["age_days"].to_numpy(float),
        (pd.Timestamp(as_of) - claims["received_date"]).dt.days.to_numpy(float),
    )
    in_week = np.zeros((len(claims), weeks))
    amount = np.zeros(len(claims))
    chance = np.full(len(claims), np.nan)
    if p_paid is not None:
        chance = p_paid.reindex(claims["claim_id"]).to_numpy(float)
    from_model = int(np.isfinite(chance).sum())
    for kind, rows in ((PENDING, pending), (DENIAL, ~pending)):
        table = cdf[kind][payer[rows]]
        ages = waited[rows].astype(int)
        steps = np.clip(ages[:, None] + WEEK_DAYS * np.arange(weeks + 1), 0, table.shape[1] - 1)
        reached = np.take_along_axis(table, steps, axis=1)
        mass = np.diff(reached, axis=1)  # P(T in week k), T the delay (never: mass left over)
        ever = table[:, -1]  # P(T is finite): 1 for payment timing, the recovery rate for denials
        left = ever - reached[:, 0]  # P(a finite T still to come, having waited)
        gone = 1 - reached[:, 0]  # P(not paid yet, having waited)
        model = chance[rows]
        with np.errstate(invalid="ignore", divide="ignore"):
            if kind == PENDING:
                default = _pending_rate(history, payers)[payer[rows]]
                p = np.where(np.isfinite(model), model, default)
                weights = p / gone  # P(T in week | T > waited), times P(paid)
            else:  # a model's P(recover) x when recoveries still to come land; else the
                # payer's recovery rate and delays, given the wait, in one (`_recovery_delays`)
                weights = np.where(np.isfinite(model), model / left, 1 / gone)
        in_week[rows] = np.nan_to_num(mass * np.where(left > 0, weights, 0.0)[:, None])
        amount[rows] = owed[open_rows][rows] * share[kind][payer[rows]]
    expected = amount[:, None] * in_week
    variance = amount[:, None] ** 2 * in_week * (1 - in_week)
    cells = _sum_cells(payer, len(payers), expected, variance, in_week > 0)
    cells["payer_id"] = np.append(np.asarray(payers, dtype=object), ALL_PAYERS)[cells["payer"]]
    source = (
        "ledger rates"
        if from_model == 0
        else "model"
        if from_model == len(claims)
        else f"model (ledger rates for {len(claims) - from_model:,} claims it did not score)"
    )
    return cells.drop(columns="payer"), source


def _sum_cells(
    payer: np.ndarray, n_payers: int, expected: np.ndarray, variance: np.ndarray, may: np.ndarray
) -> pd.DataFrame:
    """Per week and payer (code `n_payers`: every payer) the sums of the claims' columns."""
    weeks = expected.shape[1]
    frames = []
    for week in range(weeks):
        sums = {
            name: np.bincount(payer, weights=values[:, week], minlength=n_payers)
            for name, values in (
                ("expected", expected),
                ("variance", variance),
                ("claims", may * 1.0),
            )
        }
        frame = pd.DataFrame(sums).assign(week=week, payer=np.arange(n_payers))
        total = pd.DataFrame({name: [column.sum()] for name, column in sums.items()})
        frames += [frame[frame["claims"] > 0], total.assign(week=week, payer=n_payers)]
    cells = pd.concat(frames, ignore_index=True)
    cells["claims"] = cells["claims"].astype(int)
    return cells


def _kaplan_meier(
    payer: np.ndarray, days: np.ndarray, event: np.ndarray, n_payers: int
) -> np.ndarray:
    """P(T <= d) for d = 0 .. the longest event delay, one row per payer, by Kaplan-Meier
    (observations without an event are censored at their `days`); a payer with fewer than
    `MIN_EVENTS` events takes the whole book's row. Mass not reached by the last day is a
    delay longer than any seen, or never."""
    finite = np.isfinite(days) & (days >= 0)
    payer, days, event = payer[finite], days[finite].astype(int), event[finite]
    width = int(days[event].max()) + 2 if event.any() else 2
    capped = np.minimum(days, width - 1)
    rows = np.append(payer, np.full(len(payer), n_payers))  # each row also in the book's
    capped, hit = np.tile(capped, 2), np.tile(event & (days < width - 1), 2)
    flat = rows * width + capped
    shape = (n_payers + 1, width)
    ended = np.bincount(flat, minlength=shape[0] * width).reshape(shape)
    events = np.bincount(flat[hit], minlength=shape[0] * width).reshape(shape)
    at_risk = np.cumsum(ended[:, ::-1], axis=1)[:, ::-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        hazard = np.where(at_risk > 0, events / at_risk, 0.0)
    cdf = 1 - np.cumprod(1 - hazard, axis=1)
    thin = events.sum(axis=1)[:n_payers] < MIN_EVENTS
    cdf[:n_payers][thin] = cdf[n_payers]
    return cdf[:n_payers, :-1]


def _payment_delays(history: pd.DataFrame, payers: pd.Index) -> np.ndarray:
    """Days from submission to payment among the claims that pay, by payer: claims paid
    (adjudicated and not denied) are events and pending ones censored at their age. Denied
    claims are left out rather than censored: a claim that will be denied is never at risk
    of being paid, and counting it as such would make payers look slower than they are."""
    rows = history[~history["denied"]]
    paid = rows["adjudicated"].to_numpy(bool)
    remitted = (rows["received_date"] - rows["submission_date"]).dt.days
    days = remitted.where(paid, rows["age_days"]).to_numpy(float)
    return _kaplan_meier(payers.get_indexer(rows["payer_id"]), days, paid, len(payers))


def _recovery_delays(history: pd.DataFrame, payers: pd.Index) -> np.ndarray:
    """Days from the denial's remit to the money recovered, by payer, counting denials
    never recovered: recovered ones are events, those closed without recovery never pay
    (followed for `NEVER` days), open ones are censored at their age. The last column is
    the payer's recovery rate."""
    denied = history[history["denied"]]
    recovered = (denied["recovered"] > 0).to_numpy()
    came_in = (denied["recovered_date"] - denied["received_date"]).dt.days.to_numpy(float)
    waited = (denied["submission_date"] + pd.to_timedelta(denied["age_days"], unit="D")) - denied[
        "received_date"
    ]
    days = np.where(
        recovered,
        came_in,
        np.where(denied["closed"], NEVER, waited.dt.days.to_numpy(float)),
    )
    return _kaplan_meier(payers.get_indexer(denied["payer_id"]), days, recovered, len(payers))


def _pending_rate(history: pd.DataFrame, payers: pd.Index) -> np.ndarray:
    """The payer's share of adjudicated claims not denied (the book's, for a payer with
    fewer than `MIN_EVENTS` claims adjudicated)."""
    adjudicated = history[history["adjudicated"]]
    return _payer_ratio(
        adjudicated["payer_id"], (~adjudicated["denied"]).astype(float), 1.0, payers
    )


def _payment_share(history: pd.DataFrame, payers: pd.Index) -> np.ndarray:
    """What a claim the payer does not deny pays, as a share of its expected allowed
    amount (the rest is the patient's share, or a deductible): the owed amount of a
    pending claim, which knows no patient responsibility yet, times this is its cash."""
    paid = history[history["adjudicated"] & ~history["denied"]]
    return _payer_ratio(paid["payer_id"], paid["paid_amount"], paid["expected_allowed"], payers)


def _recovery_share(history: pd.DataFrame, payers: pd.Index) -> np.ndarray:
    """Dollars recovered on a recovered denial, as a share of what it owed before."""
    won = history[history["denied"] & (history["recovered"] > 0)]
    before = (won["collectible"] - won["paid_amount"]).clip(lower=0)
    return _payer_ratio(won["payer_id"], won["recovered"], before, payers)


def _payer_ratio(
    payer: pd.Series, top: pd.Series, bottom: pd.Series | float, payers: pd.Index
) -> np.ndarray:
    """sum(top) / sum(bottom) per payer, the book's for a payer with fewer than
    `MIN_EVENTS` rows, 1 where the book has none."""
    frame = pd.DataFrame({"payer": payer.to_numpy(), "top": top.to_numpy(float)})
    frame["bottom"] = bottom.to_numpy(float) if isinstance(bottom, pd.Series) else bottom
    sums = frame.groupby("payer")[["top", "bottom"]].sum().reindex(payers)
    counts = frame.groupby("payer").size().reindex(payers).fillna(0)
    book = frame["top"].sum() / frame["bottom"].sum() if frame["bottom"].sum() > 0 else 1.0
    ratio = (sums["top"] / sums["bottom"]).where(counts >= MIN_EVENTS)
    return ratio.fillna(book).to_numpy(float)


def _with_intervals(
    cells: pd.DataFrame, as_of: date, calibration: Calibration | None, level: float
) -> pd.DataFrame:
    """The cells with `low` and `high`, dated, in `COLUMNS` order then `interval_from`."""
    out = cells.copy()
    out["week_start"] = [as_of + timedelta(days=1 + WEEK_DAYS * int(w)) for w in out["week"]]
    total = out["payer_id"] == ALL_PAYERS
    if calibration is None:
        z = NormalDist().inv_cdf((1 + level) / 2)
        spread = np.sqrt(out["variance"])
        out["low"], out["high"] = out["expected"] - z * spread, out["expected"] + z * spread
        said = "chance alone (no earlier cut-off to calibrate on): too narrow"
    else:
        for name, rows in (("total", total), ("payer", ~total)):
            scale = _scale(out[rows], calibration.tau[name])
            expected = out.loc[rows, "expected"]
            for column, bound in zip(("low", "high"), calibration.bounds(name, level), strict=True):
                # No spread, no interval, even when the calibration's bound is infinite.
                out.loc[rows, column] = expected.where(scale == 0, expected + bound * scale)
        said = f"calibrated on {len(calibration.cutoffs)} earlier cut-offs"
    out["low"] = out["low"].clip(lower=0.0)
    out = out.assign(total=total).sort_values(["week", "total", "payer_id"], ignore_index=True)
    return out[[*COLUMNS, "variance"]].assign(interval_from=said)


def actual_cash(data: ContractData, ledger: pd.DataFrame, as_of: date, weeks: int) -> pd.DataFrame:
    """Dollars that came in from the ledger's open claims in each week after `as_of`, per
    payer and in all: first-remit payments by received date, and recoveries by the appeal
    row's closed date (else its action date), from `data`, which knows what came after."""
    open_claims = ledger.loc[ledger["ar_balance"] > 0, ["claim_id", "payer_id"]]
    payer = open_claims.set_index("claim_id")["payer_id"]
    remits = data.remits[data.remits["claim_id"].isin(payer.index)]
    appeals = data.appeals[
        data.appeals["claim_id"].isin(payer.index) & (data.appeals["recovered_amount"] > 0)
    ]
    came_in = pd.concat(
        [
            pd.DataFrame(
                {
                    "claim_id": remits["claim_id"].astype("string").to_numpy(),
                    "day": pd.to_datetime(remits["received_date"]).to_numpy(),
                    "actual": remits["paid_amount"].astype(float).to_numpy(),
                }
            ),
            pd.DataFrame(
                {
                    "claim_id": appeals["claim_id"].astype("string").to_numpy(),
                    "day": pd.to_datetime(appeals["closed_date"])
                    .fillna(pd.to_datetime(appeals["action_date"]))
                    .to_numpy(),
                    "actual": appeals["recovered_amount"].astype(float).to_numpy(),
                }
            ),
        ],
        ignore_index=True,
    )
    after = (came_in["day"] - pd.Timestamp(as_of)).dt.days
    came_in["week"] = (after - 1) // WEEK_DAYS
    came_in = came_in[(after >= 1) & (came_in["week"] < weeks)]
    came_in["payer_id"] = payer.reindex(came_in["claim_id"]).to_numpy()
    by_payer = came_in.groupby(["week", "payer_id"], as_index=False)["actual"].sum()
    totals = came_in.groupby("week", as_index=False)["actual"].sum().assign(payer_id=ALL_PAYERS)
    every_week = pd.DataFrame({"week": range(weeks), "payer_id": ALL_PAYERS})
    totals = every_week.merge(totals, how="left", on=["week", "payer_id"]).fillna({"actual": 0.0})
    return pd.concat([by_payer, totals], ignore_index=True)


class _Outcomes:
    """Each cut-off's forecast cells (ledger rates, no intervals) joined with what came in,
    computed once per cut-off: a backtest's cut-offs share their calibration cut-offs."""

    def __init__(self, data: ContractData, weeks: int) -> None:
        self.data, self.weeks = data, weeks
        self.known: dict[date, pd.DataFrame] = {}

    def at(self, cutoff: date) -> pd.DataFrame:
        if cutoff not in self.known:
            ledger = claim_ledger(self.data, cutoff)
            cells, _ = _expected_cells(ledger, cutoff, self.weeks, None)
            actual = actual_cash(self.data, ledger, cutoff, self.weeks)
            joined = cells.merge(actual, how="outer", on=["week", "payer_id"])
            fill = {"expected": 0.0, "variance": 0.0, "claims": 0, "actual": 0.0}
            self.known[cutoff] = joined.fillna(fill).assign(cutoff=cutoff)
        return self.known[cutoff]


def calibration_cutoffs(
    as_of: date,
    weeks: int,
    count: int = CALIBRATION_CUTOFFS,
    step_days: int = CALIBRATION_STEP_DAYS,
) -> list[date]:
    """The `count` cut-offs, `step_days` apart, whose `weeks` had all passed by `as_of`."""
    last = as_of - timedelta(days=WEEK_DAYS * weeks)
    return [last - timedelta(days=step_days * n) for n in range(count)]


def calibrate(
    data: ContractData,
    as_of: date,
    weeks: int = 8,
    count: int = CALIBRATION_CUTOFFS,
    step_days: int = CALIBRATION_STEP_DAYS,
    outcomes: _Outcomes | None = None,
) -> Calibration | None:
    """The forecast's errors at `calibration_cutoffs` (ledger rates, as those cut-offs
    knew them), for `cash_forecast`'s intervals; None when `count` is 0, the data has no
    claims or starts too late for any."""
    if data.claims.empty:
        return None
    outcomes = outcomes or _Outcomes(data, weeks)
    start = pd.Timestamp(data.claims["submission_date"].min()).date()
    cutoffs = [c for c in calibration_cutoffs(as_of, weeks, count, step_days) if c > start]
    if not cutoffs:
        return None
    cells = pd.concat([outcomes.at(cutoff) for cutoff in cutoffs], ignore_index=True)
    total = cells["payer_id"] == ALL_PAYERS
    tau, scores = {}, {}
    for name, rows in (("total", cells[total]), ("payer", cells[~total])):
        error = rows["actual"] - rows["expected"]
        # Moments: E[error^2] = chance variance + (tau x forecast)^2, week by week ahead.
        weekly = (
            pd.DataFrame({"excess": error**2 - rows["variance"], "square": rows["expected"] ** 2})
            .groupby(rows["week"])
            .sum()
            .reindex(range(weeks), fill_value=0.0)
        )
        ratio = weekly["excess"].clip(lower=0.0) / weekly["square"].where(weekly["square"] > 0)
        tau[name] = np.sqrt(ratio.fillna(0.0).to_numpy(float))
        scale = _scale(rows, tau[name])
        scores[name] = (error / scale.where(scale > 0)).dropna().to_numpy(float)
    return Calibration(tuple(cutoffs), tau, scores)


def _scale(cells: pd.DataFrame, tau: np.ndarray) -> pd.Series:
    """Each cell's error scale: sqrt(chance variance + (its week's tau x forecast)^2)."""
    spread = tau[cells["week"].to_numpy(int)] * cells["expected"].to_numpy(float)
    return np.sqrt(cells["variance"] + spread**2)


def backtest(
    data: ContractData,
    cutoffs: Iterable[date],
    weeks: int = 8,
    level: float = 0.8,
    calibration_count: int = CALIBRATION_CUTOFFS,
    step_days: int = CALIBRATION_STEP_DAYS,
) -> Backtest:
    """Forecast from each cut-off with the ledger as it stood then (ledger rates, intervals
    calibrated on the cut-offs before it whose weeks had passed by then), against the cash
    that came in from the claims open at it in each of the next `weeks` weeks."""
    outcomes = _Outcomes(data, weeks)
    frames = []
    for cutoff in sorted(cutoffs):
        calibration = calibrate(data, cutoff, weeks, calibration_count, step_days, outcomes)
        cells = outcomes.at(cutoff)
        dated = _with_intervals(cells.drop(columns="actual"), cutoff, calibration, level)
        frames.append(
            dated.merge(cells[["week", "payer_id", "actual"]], on=["week", "payer_id"]).assign(
                cutoff=cutoff
            )
        )
    table = pd.concat(frames, ignore_index=True)
    table = table[["cutoff", *COLUMNS, "actual", "interval_from"]]
    return Backtest(table, summarise(table, level))


def summarise(cells: pd.DataFrame, level: float) -> dict[str, float | int | str]:
    """WAPE (sum |error| / sum actual), bias (sum error / sum actual) and interval coverage
    (share of cells with actual in [low, high]), for week totals and for payer-weeks."""
    total = cells["payer_id"] == ALL_PAYERS
    out: dict[str, float | int | str] = {
        "cutoffs": int(cells["cutoff"].nunique()),
        "weeks": int(cells["week"].nunique()),
        "level": level,
    }
    for name, rows in (("total", cells[total]), ("payer_week", cells[~total])):
        error = rows["expected"] - rows["actual"]
        actual = float(rows["actual"].sum())
        inside = (rows["actual"] >= rows["low"]) & (rows["actual"] <= rows["high"])
        out[f"{name}_cells"] = len(rows)
        out[f"{name}_wape"] = float(error.abs().sum() / actual) if actual else math.nan
        out[f"{name}_bias"] = float(error.sum() / actual) if actual else math.nan
        out[f"{name}_coverage"] = float(inside.mean()) if len(rows) else math.nan
    out["actual"] = float(cells.loc[total, "actual"].sum())
    out["expected"] = float(cells.loc[total, "expected"].sum())
    return out


def evenly_spaced_cutoffs(
    end: date, count: int, spacing_days: int = CALIBRATION_STEP_DAYS
) -> Sequence[date]:
    """`count` cut-offs `spacing_days` apart, the last one `end`."""
    return [end - timedelta(days=spacing_days * n) for n in reversed(range(count))]
