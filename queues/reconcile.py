"""Why a queue item's claim is no longer in the ranking, read from the data directory.

`WorkQueue.load` closes the open items a new ranking lacks; this says why, so a biller
or an auditor reads "the appeal closed elsewhere" rather than a priority that silently
went away. The reasons mirror what `queues.items.open_denials` keeps out of a ranking:

- `not_in_data`: the claim, or its remit, is gone from the data directory (a partial
  extract looks like this, which is why the load's guard counts it as unexplained);
- `appeal_closed`: the appeals table has a closed appeal for the claim (a final outcome,
  recorded elsewhere than in this queue);
- `not_denied`: its remit is no denial any more (a later remit paid it);
- `not_in_ranking`: none of these: the claim is still an open denial in the data, and
  the ranking just lacks it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from data_contracts.reader import ContractData
from queues.items import denial_categories


def closure_reasons(data: ContractData, claim_ids: Sequence[str]) -> dict[str, str]:
    """The reason (`storage.schema.CLOSED_REASONS`) each claim is not in `data`'s ranking.

    Pass `functools.partial(closure_reasons, data)` as `WorkQueue.load`'s `explain`, with
    the data directory the ranking was built from. Only the asked claims are examined.
    """
    asked = set(claim_ids)
    remits = data.remits[data.remits["claim_id"].isin(asked)]
    mine = replace(
        data,
        remits=remits,
        claim_lines=data.claim_lines[data.claim_lines["claim_id"].isin(asked)],
    )
    denied = denial_categories(mine).notna()
    still_denied = set(denied.index[denied.to_numpy()])
    in_data = set(data.claims["claim_id"][data.claims["claim_id"].isin(asked)]) & set(
        remits["claim_id"]
    )
    appeals = data.appeals
    closed = set(appeals.loc[appeals["closed_date"].notna(), "claim_id"]) & asked
    reasons = {}
    for claim in claim_ids:
        if claim not in in_data:
            reasons[claim] = "not_in_data"
        elif claim in closed:
            reasons[claim] = "appeal_closed"
        elif claim not in still_denied:
            reasons[claim] = "not_denied"
        else:
            reasons[claim] = "not_in_ranking"
    return reasons
