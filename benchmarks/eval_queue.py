"""Does the queue's order recover what the hours allow? Against the oracle and the habits.

Run: `.venv/bin/python benchmarks/eval_queue.py [--claims 200000] [--seed 1]`.
Fits the recovery model on synthetic data, ranks every open denial under the
default policy, then walks each order with 40 biller-hours per 1,000 open
denials, valuing items with the synthetic truth: true P(recovered) × the true
expected payment, true minutes of effort; an item past its payer's true appeal
window recovers nothing (the queue itself only knows the windows it learned).
The oracle order is true value per true minute. Only this script (and its test
twin on a small set) reads truth.csv.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _machine import describe_machine
from _synthetic import synthetic_store

from features.pipeline import day_after_latest
from queues.items import work_items
from queues.policy import default_policy
from queues.ranking import rank_items
from queues.simulate import simulate
from settings import Settings
from synthetic.world import PAYERS
from training.recovery import fit_recovery

HOURS_PER_1000 = 40


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(describe_machine())
    with tempfile.TemporaryDirectory() as folder:
        data, truth, _ = synthetic_store(args.claims, args.seed, Path(folder))
    recovery = fit_recovery(data, Settings()).bundle
    policy = default_policy()
    started = time.perf_counter()
    ranked = rank_items(work_items(data, recovery, policy, day_after_latest(data)), policy)
    seconds = time.perf_counter() - started
    claims = data.claims.set_index("claim_id").loc[ranked["claim_id"]]
    allowed = claims["payer_id"].map({p.payer_id: p.allowed_fraction for p in PAYERS})
    paid = data.remits.set_index("claim_id").loc[ranked["claim_id"], "paid_amount"]
    amount = (claims["total_charge"] * allowed - paid).clip(lower=0).to_numpy()
    true = truth.loc[ranked["claim_id"]]
    budget = HOURS_PER_1000 * len(ranked) / 1000
    deadline = ranked["received_day"].to_numpy() + true["appeal_window_days"].to_numpy()
    result = simulate(
        ranked,
        budget,
        true["effort_minutes"].to_numpy(),
        true["p_recover"].to_numpy() * amount,
        deadline,
    ).summary
    recovered = result["recovered"]
    print(
        f"{args.claims:,} claims (seed {args.seed}): {len(ranked):,} open denials built and "
        f"ranked in {seconds:.1f} s; budget {budget:,.0f} biller hours "
        f"({HOURS_PER_1000} per 1,000 open denials)"
    )
    print(result.to_string(index=False, float_format="{:,.2f}".format))
    print(f"policy / oracle: {recovered['policy'] / recovered['oracle']:.3f}")
    print(
        f"policy / highest balance first: {recovered['policy'] / recovered['highest_balance']:.2f}"
    )


if __name__ == "__main__":
    main()
