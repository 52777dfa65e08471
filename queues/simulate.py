"""What a budget of biller hours recovers under the policy's order and under the usual habits.

Every strategy walks its own order of the same open denials and works items
until the hours run out. The policy works only what it ranks as worth working,
with the action it chose; the habits (highest balance first, oldest first,
first in first out) work every item with its usual action, past the payer's
deadline or not, as a team without the policy would. An item worked after its
deadline, or accepted, recovers nothing.

`simulate` values items by the models' own estimates, which is all a clinic has;
`benchmarks/eval_queue.py` walks the same orders with the synthetic truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from data_contracts.enums import PAYER_ACTIONS
from data_contracts.reader import ContractData
from queues.deadlines import learn_deadlines
from queues.items import denial_categories
from queues.policy import Policy
from reports import Plot, png, write_report

STRATEGIES = ("policy", "highest_balance", "oldest_first", "fifo")


def orders(ranked: pd.DataFrame) -> dict[str, np.ndarray]:
    """Row positions of `ranked` (the output of `rank_items`) in each strategy's order."""
    return {
        "policy": np.arange(len(ranked)),
        "highest_balance": np.argsort(-ranked["recoverable_amount"].to_numpy(), kind="stable"),
        "oldest_first": np.argsort(ranked["service_day"].to_numpy(), kind="stable"),
        "fifo": np.argsort(ranked["received_day"].to_numpy(), kind="stable"),
    }


def worked_by(ranked: pd.DataFrame, strategy: str) -> np.ndarray:
    """Which items a strategy asks the payer about: the policy its working items, the habits
    everything whose usual action asks the payer."""
    if strategy == "policy":
        return ranked["action"].isin(PAYER_ACTIONS).to_numpy()
    return (ranked["p_recover"] > 0).to_numpy()


def in_time(ranked: pd.DataFrame, deadline_day: np.ndarray | None = None) -> np.ndarray:
    """Items the payer still accepts work on: `deadline_day` not passed, by default the day
    the ranking would write an item off as late (none known: in time, as the queue works it)."""
    if deadline_day is None:
        deadline_day = ranked["write_off_day"].to_numpy(float)
    return ~(deadline_day < ranked["as_of_day"].to_numpy(float))


def budget_walk(
    order: np.ndarray, worked: np.ndarray, minutes: np.ndarray, value: np.ndarray, budget: float
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative hours and dollars along `order`, working the `worked` items while the
    budget (minutes) lasts. An accepted item takes no biller time and recovers nothing."""
    spent = np.where(worked[order], minutes[order], 0.0)
    gained = np.where(worked[order], value[order], 0.0)
    hours = np.cumsum(spent)
    within = hours <= budget
    return hours[within] / 60.0, np.cumsum(gained)[within]


@dataclass
class Simulation:
    budget_hours: float
    summary: pd.DataFrame
    curves: dict[str, tuple[np.ndarray, np.ndarray]]


def simulate(
    ranked: pd.DataFrame,
    budget_hours: float,
    minutes: np.ndarray | None = None,
    value: np.ndarray | None = None,
    deadline_day: np.ndarray | None = None,
) -> Simulation:
    """Each strategy's recovery within `budget_hours`. By default items are valued with the
    estimates (P(recovered) × recoverable amount, estimated minutes, the deadlines the queue
    writes off by). Given true `minutes`, `value` and `deadline_day` (an evaluation), an
    `oracle` row walks the best order those values allow."""
    evaluation = value is not None
    minutes = ranked["effort_minutes"].to_numpy(float) if minutes is None else minutes
    if value is None:
        value = (ranked["p_recover"] * ranked["recoverable_amount"]).to_numpy(float)
    value = value * in_time(ranked, deadline_day)
    walks = {s: (order, worked_by(ranked, s)) for s, order in orders(ranked).items()}
    if evaluation:
        walks["oracle"] = (np.argsort(-value / minutes, kind="stable"), np.ones(len(ranked), bool))
    curves, rows = {}, []
    for strategy, (order, worked) in walks.items():
        hours, dollars = budget_walk(order, worked, minutes, value, budget_hours * 60.0)
        curves[strategy] = (hours, dollars)
        rows.append(
            {
                "strategy": strategy,
                "items_worked": int(worked[order][: len(hours)].sum()),
                "hours_used": float(hours[-1]) if len(hours) else 0.0,
                "recovered": float(dollars[-1]) if len(dollars) else 0.0,
            }
        )
    summary = pd.DataFrame(rows)
    summary["vs_policy"] = summary["recovered"] / max(summary.loc[0, "recovered"], 1e-9)
    return Simulation(budget_hours, summary.set_index("strategy", drop=False), curves)


def write_simulation_report(
    path: Path, simulation: Simulation, ranked: pd.DataFrame, data: ContractData, policy: Policy
) -> Path:
    """The RevOps report: recovery against hours per strategy, the policy's accept/work split
    by payer and category, each payer's deadlines with their evidence, and what history says
    about appeal success and time to payment."""
    plots = [
        _recovery_curves(simulation),
        _split(ranked, "payer_id", "Policy actions by payer"),
        _split(ranked, "denial_category", "Policy actions by denial category"),
        *_history_plots(data),
    ]
    policy_row = simulation.summary.loc["policy"]
    summary = (
        f"{len(ranked):,} open denials, {simulation.budget_hours:,.0f} biller hours, policy "
        f"version {policy.version} (hour at ${policy.biller_hour_cost:,.0f}, worth working from "
        f"${policy.min_expected_net:,.0f} expected net). Valued with the models' estimates: "
        f"the policy order recovers ${policy_row['recovered']:,.0f}."
    )
    actions = ranked.groupby("action").agg(
        items=("claim_id", "size"),
        expected_recovery=("expected_recovery", "sum"),
        effort_hours=("effort_minutes", lambda m: m.sum() / 60),
    )
    return write_report(
        path,
        "Accept-versus-appeal policy simulation",
        summary,
        simulation.summary,
        plots,
        {
            "Policy actions": actions.reset_index(),
            "Payer deadlines (days; learned from the history unless configured; written off as "
            "late only after a configured deadline or one the payer's refusals back)": (
                learn_deadlines(data, policy).table()
            ),
            "Top of the queue": _top(ranked),
        },
        headline_title=f"Recovered within {simulation.budget_hours:,.0f} hours",
    )


def _top(ranked: pd.DataFrame, n: int = 25) -> pd.DataFrame:
    return ranked.head(n)[["rank", "claim_id", "payer_id", "denial_category", "action", "reason"]]


def _recovery_curves(simulation: Simulation) -> Plot:
    figure, ax = plt.subplots(figsize=(6, 4))
    for strategy, (hours, dollars) in simulation.curves.items():
        ax.plot(hours, dollars, label=strategy)
    ax.set(title="Expected recovery against hours worked", xlabel="biller hours", ylabel="dollars")
    ax.legend(fontsize=8)
    return Plot("recovery", png(figure))


def _split(ranked: pd.DataFrame, by: str, title: str) -> Plot:
    counts = pd.crosstab(ranked[by], ranked["action"])
    figure, ax = plt.subplots(figsize=(6, 0.28 * len(counts) + 1.5))
    counts.plot.barh(stacked=True, ax=ax)
    ax.set(title=title, xlabel="open denials", ylabel="")
    ax.legend(fontsize=7)
    return Plot(title, png(figure))


def _history_plots(data: ContractData) -> list[Plot]:
    """Appeal success by denial reason and days from action to payment, from closed appeals."""
    appeals = data.appeals[
        data.appeals["closed_date"].notna() & data.appeals["action"].isin(PAYER_ACTIONS)
    ]
    if appeals.empty:
        return []
    category = denial_categories(data).reindex(appeals["claim_id"]).to_numpy()
    success = (
        pd.Series((appeals["outcome"] == "overturned").to_numpy(), index=category)
        .groupby(level=0)
        .mean()
        .sort_values()
    )
    figure, ax = plt.subplots(figsize=(6, 0.28 * len(success) + 1.5))
    ax.barh(success.index.astype(str), success.to_numpy())
    ax.set(title="Appeal success by denial reason (closed appeals)", xlabel="share overturned")
    paid = appeals[appeals["outcome"] == "overturned"]
    lag = (paid["closed_date"] - paid["action_date"]).dt.days
    days_figure, days_ax = plt.subplots(figsize=(6, 4))
    for action, group in lag.groupby(paid["action"].to_numpy()):
        days_ax.hist(group, bins=30, alpha=0.6, label=str(action))
    days_ax.set(title="Days from action to payment (overturned)", xlabel="days", ylabel="appeals")
    days_ax.legend(fontsize=8)
    return [Plot("appeal success", png(figure)), Plot("days to payment", png(days_figure))]
