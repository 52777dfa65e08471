"""Sessions of care and the claims a clinic bills for them, with the clinic's mistakes.

Each session becomes one claim with one to three lines. Mistakes are injected
at rates that differ by provider and facility (upcoded psychotherapy, missing
telehealth or credential modifiers, add-ons billed alone, clerical gaps, late
batches) and are recorded as flags that `adjudication.py` turns into denial
probabilities. Everything is vectorised over sessions: no Python loop runs per
claim.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic.population import EPISODE, HORIZON_DAYS
from synthetic.world import CREDENTIAL_MODIFIER, PRESCRIBERS

FEES = {
    "90791": 260,
    "90792": 300,
    "90832": 110,
    "90834": 150,
    "90837": 200,
    "90833": 90,
    "90836": 120,
    "90838": 160,
    "90839": 250,
    "90840": 120,
    "90785": 35,
    "90846": 160,
    "90847": 170,
    "90853": 70,
    "96127": 25,
    "99213": 130,
    "99214": 190,
    "H0004": 30,
    "H0005": 60,
    "S9480": 420,
    "H0015": 380,
    "H0035": 700,
    "S0201": 650,
    "H0018": 850,
    "H0010": 1100,
    "H0011": 1300,
}
REVENUE = {
    "S9480": "0905",
    "H0015": "0906",
    "H0035": "0912",
    "S0201": "0913",
    "H0018": "1001",
    "H0010": "0116",
    "H0011": "0116",
}
TIME_BANDS = {
    # code: (lowest documented minutes that support it, highest)
    "90832": (16, 37),
    "90833": (16, 37),
    "90834": (38, 52),
    "90836": (38, 52),
    "90837": (53, 999),
    "90838": (53, 999),
    "90839": (30, 74),
}
UPCODE = {"90832": "90834", "90834": "90837", "90833": "90836", "90836": "90838"}
INSTITUTIONAL = ("IOP", "PHP", "RES", "DETOX")


def _choice(rng: np.random.Generator, options: list[str], weights: list[float], n: int):
    p = np.asarray(weights, dtype=float)
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=p / p.sum())]


def expand_sessions(
    rng: np.random.Generator,
    episodes: pd.DataFrame,
    patients: pd.DataFrame,
    facilities: pd.DataFrame,
    providers: pd.DataFrame,
    payers: pd.DataFrame,
) -> pd.DataFrame:
    """One row per session: when, where, by whom, billed to which payer, and covered or not."""
    reps = episodes["n_sessions"].to_numpy()
    episode = np.repeat(np.arange(len(episodes)), reps)
    starts = np.cumsum(reps) - reps
    k = np.arange(len(episode)) - np.repeat(starts, reps)
    program = episodes["program"].to_numpy()[episode]
    low = np.array([EPISODE[p][1] for p in program])
    high = np.array([EPISODE[p][2] for p in program])
    gap = np.where(k == 0, 0, rng.integers(low, high + 1))
    total = np.cumsum(gap)
    day = episodes["start_day"].to_numpy()[episode] + total - np.repeat(total[starts], reps)

    patient = episodes["patient"].to_numpy()[episode]
    facility = episodes["facility"].to_numpy()[episode]
    change = patients["change_day"].to_numpy()[patient]
    lag = facilities["eligibility_lag_days"].to_numpy()[facility] * rng.uniform(0.3, 1.5, len(day))
    after_change = (change >= 0) & (day >= change)
    learned = after_change & (day >= change + lag)
    lost = patients["lost_coverage"].to_numpy()[patient]
    keep = (day >= 0) & (day < HORIZON_DAYS) & ~(lost & learned)
    switched_payer = patients["second_payer"].to_numpy()[patient]
    payer = np.where(learned & ~lost, switched_payer, patients["payer"].to_numpy()[patient])
    frame = pd.DataFrame(
        {
            "episode": episode,
            "k": k,
            "day": day,
            "episode_day": day - episodes["start_day"].to_numpy()[episode],
            "patient": patient,
            "facility": facility,
            "provider": episodes["provider"].to_numpy()[episode],
            "program": program,
            "payer": payer,
            "coverage_inactive": after_change & ~learned,
        }
    )[keep]
    return frame.reset_index(drop=True).assign(
        credential=lambda f: providers["credential"].to_numpy()[f["provider"]],
        plan_type=lambda f: payers["plan_type"].to_numpy()[f["payer"]],
    )


def code_sessions(
    rng: np.random.Generator,
    sessions: pd.DataFrame,
    facilities: pd.DataFrame,
    providers: pd.DataFrame,
    payers: pd.DataFrame,
) -> pd.DataFrame:
    """Procedure codes, minutes, modifiers, place of service and the clinic's coding mistakes."""
    n = len(sessions)
    s = sessions
    prov = s["provider"].to_numpy()
    credential = s["credential"].to_numpy()
    program = s["program"].to_numpy()
    kind = facilities["kind"].to_numpy()[s["facility"].to_numpy()]
    op = program == "OP"
    first = s["k"].to_numpy() == 0
    prescriber = np.isin(credential, PRESCRIBERS)

    main = np.full(n, "", dtype=object)
    addon = np.full(n, "", dtype=object)
    extra = np.full(n, "", dtype=object)
    units = np.ones(n, dtype=np.int64)
    true_minutes = np.zeros(n)

    main[op & first] = np.where(prescriber[op & first], "90792", "90791")
    med = op & ~first & prescriber
    main[med] = _choice(rng, ["99213", "99214"], [0.45, 0.55], int(med.sum()))
    with_therapy = med & (rng.random(n) < 0.45)
    addon[with_therapy] = _choice(
        rng, ["90833", "90836", "90838"], [0.35, 0.55, 0.10], int(with_therapy.sum())
    )
    therapy = op & ~first & ~prescriber
    sud_counsel = therapy & (kind == "sud_center") & (credential == "LCADC") & (rng.random(n) < 0.7)
    main[sud_counsel] = _choice(rng, ["H0004", "H0005"], [0.6, 0.4], int(sud_counsel.sum()))
    units[main == "H0004"] = 4
    individual = therapy & ~sud_counsel
    main[individual] = _choice(
        rng,
        ["90834", "90837", "90832", "90847", "90846", "90853", "90839"],
        [0.50, 0.33, 0.08, 0.03, 0.015, 0.035, 0.01],
        int(individual.sum()),
    )
    iop = program == "IOP"
    main[iop] = np.where(kind[iop] == "sud_center", "H0015", "S9480")
    php = program == "PHP"
    main[php] = _choice(rng, ["H0035", "S0201"], [0.7, 0.3], int(php.sum()))
    res = program == "RES"
    main[res] = "H0018"
    units[res] = np.where(rng.random(int(res.sum())) < 0.75, 7, rng.integers(2, 7, int(res.sum())))
    detox = program == "DETOX"
    main[detox] = _choice(rng, ["H0010", "H0011"], [0.6, 0.4], int(detox.sum()))
    units[detox] = rng.integers(3, 8, int(detox.sum()))

    timed_main = np.isin(main, list(TIME_BANDS))
    timed_addon = addon != ""
    for codes, mask in ((main, timed_main), (addon, timed_addon)):
        true_minutes[mask] = session_minutes(rng, codes[mask])
    true_minutes[main == "H0004"] = 60

    # Upcoding: the billed code is one level above what the documented minutes support.
    upcode = (timed_main | timed_addon) & (
        rng.random(n) < providers["upcode_rate"].to_numpy()[prov]
    )
    for codes in (main, addon):
        bump = upcode & np.isin(codes, list(UPCODE))
        codes[bump] = [UPCODE[c] for c in codes[bump]]
    minutes = true_minutes.copy()
    minutes_missing = (timed_main | timed_addon) & (
        rng.random(n) < providers["missing_minutes_rate"].to_numpy()[prov]
    )
    crisis_long = (main == "90839") & (rng.random(n) < 0.3)
    minutes[crisis_long] = rng.integers(75, 110, int(crisis_long.sum()))
    extra[crisis_long] = "90840"

    # Interactive complexity and brief screening add lines; 96127 beside psychotherapy needs 59.
    complexity = (
        (main != "") & np.isin(main, ["90832", "90834", "90837", "90791"]) & (rng.random(n) < 0.03)
    )
    extra[complexity & (extra == "")] = "90785"
    screening = op & (extra == "") & (rng.random(n) < 0.05)
    extra[screening] = "96127"
    bundling_rate = providers["bundling_error_rate"].to_numpy()[prov]
    screening_unbundled = (
        screening & timed_main & (rng.random(n) < np.minimum(0.9, bundling_rate * 10))
    )
    addon_alone = timed_addon & (rng.random(n) < bundling_rate * 3)
    complexity_with_crisis = (main == "90839") & (rng.random(n) < bundling_rate * 5) & (extra == "")
    extra[complexity_with_crisis] = "90785"

    # Telehealth: the payer's modifier and the right POS, or a denial.
    pos_by_kind = {"op_clinic": "11", "cmhc": "53", "sud_center": "57", "psych_hospital_op": "22"}
    pos = np.array([pos_by_kind[k] for k in kind], dtype=object)
    pos[php] = "52"
    pos[res | detox] = "55"
    year_share = 0.8 + 0.2 * (s["day"].to_numpy() < 365)
    telehealth = op & (rng.random(n) < providers["telehealth_share"].to_numpy()[prov] * year_share)
    payer = s["payer"].to_numpy()
    tele_modifier = payers["telehealth_modifier"].to_numpy()[payer]
    miss_rate = providers["modifier_miss_rate"].to_numpy()[prov]
    accepts_pos10 = payers["accepts_pos10"].to_numpy()[payer]
    home = rng.random(n) < np.where(accepts_pos10, 0.7, miss_rate * 4)
    pos[telehealth] = np.where(home[telehealth], "10", "02")
    tele_missing = telehealth & (rng.random(n) < miss_rate)
    tele_wrong = telehealth & ~tele_missing & (rng.random(n) < miss_rate / 2)
    tele_used = np.where(tele_wrong, np.where(tele_modifier == "95", "GT", "95"), tele_modifier)
    pos10_rejected = telehealth & (pos == "10") & ~accepts_pos10

    needs_credential_modifier = (
        payers["credential_modifiers"].to_numpy()[payer]
        & np.isin(credential, list(CREDENTIAL_MODIFIER))
        & op
    )
    credential_modifier = np.array(
        [CREDENTIAL_MODIFIER.get(c, "") for c in credential], dtype=object
    )
    credential_modifier_missing = needs_credential_modifier & (rng.random(n) < miss_rate * 1.5)

    main_modifiers = np.full(n, "", dtype=object)
    main_modifiers = _append(main_modifiers, telehealth & ~tele_missing, tele_used)
    main_modifiers = _append(
        main_modifiers,
        needs_credential_modifier & ~credential_modifier_missing,
        credential_modifier,
    )
    main_minutes = np.where(timed_main & ~minutes_missing, minutes, np.nan)
    main_minutes[main == "H0004"] = 60
    addon_minutes = np.where(timed_addon & ~minutes_missing, minutes, np.nan)
    return sessions.assign(
        main_code=main,
        addon_code=addon,
        extra_code=extra,
        units=units,
        billed_units=np.where(addon_alone, 0, units) + timed_addon + (extra != ""),
        main_minutes=main_minutes,
        addon_minutes=addon_minutes,
        main_modifiers=main_modifiers,
        addon_alone=addon_alone,
        screening_unbundled=screening_unbundled,
        complexity_with_crisis=complexity_with_crisis,
        place_of_service=pos,
        telehealth=telehealth,
        telehealth_modifier_bad=tele_missing | tele_wrong,
        pos10_rejected=pos10_rejected,
        credential_modifier_missing=credential_modifier_missing,
        upcoded=upcode,
        minutes_missing=minutes_missing,
        institutional=np.isin(program, INSTITUTIONAL),
    )


def session_minutes(rng: np.random.Generator, codes: np.ndarray) -> np.ndarray:
    """Minutes a session billed with each timed code lasted: anywhere in the code's band (the
    open-ended bands end at 66 minutes, where sessions end in practice)."""
    band_low = np.array([TIME_BANDS.get(c, (0, 0))[0] for c in codes], dtype=float)
    band_high = np.array([min(TIME_BANDS.get(c, (0, 0))[1], 66) for c in codes], dtype=float)
    return np.floor(rng.uniform(band_low, band_high + 1))


def _append(modifiers: np.ndarray, mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    joined = np.where(modifiers == "", values, modifiers + ";" + values)
    return np.where(mask, joined, modifiers)


def time_mismatch(
    codes: np.ndarray, minutes: np.ndarray, extended: np.ndarray | None = None
) -> np.ndarray:
    """Timed psychotherapy whose documented minutes are missing or outside the code's band.

    `extended` marks claims whose time runs on in an add-on (90839 with 90840), which
    lifts the upper bound of the primary code's band.
    """
    low = np.array([TIME_BANDS.get(c, (-1, 0))[0] for c in codes], dtype=float)
    high = np.array([TIME_BANDS.get(c, (-1, 0))[1] for c in codes], dtype=float)
    if extended is not None:
        high = np.where(extended, np.inf, high)
    timed = low >= 0
    return timed & (np.isnan(minutes) | (minutes < low) | (minutes > high))


def build_lines(coded: pd.DataFrame, facilities: pd.DataFrame) -> pd.DataFrame:
    """Claim lines (by session index): primary service, psychotherapy add-on, extra line."""
    charge_factor = facilities["charge_factor"].to_numpy()[coded["facility"].to_numpy()]
    main_present = ~coded["addon_alone"].to_numpy()
    main = pd.DataFrame(
        {
            "session": np.arange(len(coded)),
            "slot": 1,
            "procedure_code": coded["main_code"].to_numpy(),
            "modifiers": coded["main_modifiers"].to_numpy(),
            "units": coded["units"].to_numpy(),
            "minutes": coded["main_minutes"].to_numpy(),
        }
    )[main_present | (coded["addon_code"].to_numpy() == "")]
    has_addon = coded["addon_code"].to_numpy() != ""
    addon = pd.DataFrame(
        {
            "session": np.flatnonzero(has_addon),
            "slot": 2,
            "procedure_code": coded["addon_code"].to_numpy()[has_addon],
            "modifiers": coded["main_modifiers"].to_numpy()[has_addon],
            "units": 1,
            "minutes": coded["addon_minutes"].to_numpy()[has_addon],
        }
    )
    has_extra = coded["extra_code"].to_numpy() != ""
    screening_ok = (coded["extra_code"].to_numpy() == "96127") & ~coded[
        "screening_unbundled"
    ].to_numpy()
    extra = pd.DataFrame(
        {
            "session": np.flatnonzero(has_extra),
            "slot": 3,
            "procedure_code": coded["extra_code"].to_numpy()[has_extra],
            "modifiers": np.where(screening_ok[has_extra], "59", ""),
            "units": 1,
            "minutes": np.nan,
        }
    )
    lines = pd.concat([main, addon, extra], ignore_index=True).sort_values(
        ["session", "slot"], kind="stable"
    )
    fee = lines["procedure_code"].map(FEES).to_numpy(dtype=float)
    lines["line_charge"] = np.round(
        fee * lines["units"].to_numpy() * charge_factor[lines["session"].to_numpy()], 2
    )
    institutional = coded["institutional"].to_numpy()[lines["session"].to_numpy()]
    lines["revenue_code"] = np.where(
        institutional, lines["procedure_code"].map(REVENUE).fillna(""), ""
    )
    sud = (
        facilities["kind"].to_numpy()[coded["facility"].to_numpy()][lines["session"].to_numpy()]
        == "sud_center"
    )
    lines.loc[(lines["procedure_code"] == "H0018").to_numpy() & sud, "revenue_code"] = "1002"
    lines["line_number"] = lines.groupby("session").cumcount() + 1
    return lines.reset_index(drop=True)
