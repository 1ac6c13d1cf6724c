"""How far the default's channel weights are from what a rule on the same two channels could reach.

The default score (softkv.read._evidence) weighs meaning and spelling per
query by each channel's lead. This script replays that rule and others on the
dev benchmark's channels (devdata.py), computed once per encoder, and prints
top-1 by kind for each (category: top-1 here, not the weight on the members
that quality.py reports), with the share of unrelated queries and of queries
of the catalog's domain it lacks that miss, and of genuine queries answered
right under the default cutoff, for the rules that give a score:

- lead x typo reading: the default, softkv's own ``channel_weights``: each
  channel's lead, meaning's scaled by g measured per encoder with no
  constant (``softkv.read._background.meaning_on_typos``): three seeded
  typos (one or two edits) of each background text are read against the
  background texts, and g is the share meaning alone reads right over the
  share spelling alone does (MiniLM 0.30, e5 0.66);
- lead, meaning x g: meaning's lead scaled by one constant g for every
  encoder (g = 1: the rule before the typo reading; g < 1 trusts spelling
  more);
- fixed w: meaning weighted w and spelling 1 - w for every query, in z
  units (``spelling_weight=w`` mixes raw similarities instead);
- leads squared: the default's leads, each squared before they are
  normalised, as inverse variances weigh two estimates (a channel that leads
  twice as far counts four times as much);
- selector, pooled: a logistic regression (scikit-learn) that picks meaning
  or spelling alone from 11 per-query features (the two leads, each
  channel's best z and its z for the other channel's best key, the query's
  length and words, the catalog's size), trained on the queries where one
  channel is right and the other wrong, of the other catalogs (leave one
  catalog out) and of every encoder: one learned rule for all;
- selector, per encoder: the same, trained on one encoder's queries only
  (so its coefficients are constants set per encoder);
- oracle: meaning or spelling alone, whichever is right, per query.

For the queries whose key has an opposite in the catalog ("switch dark mode
off" among "enable dark mode" and "disable dark mode") it prints how often the
default answers the opposite key, and how often both channels score the
opposite above the key meant, so that no weighting of the two can rank the
key meant first.

Queries made of known words (softkv.spelling.in_vocabulary) and exact names are
read as the default reads them under every rule but four, which keep the
default's weights for the other queries and read known words too with both
channels: with the default's weights (no gate); with the leads at g = 1 (a
text of known words is not taken for misspelt); with the leads at g = 1 only
where spelling's lead is the larger; or with the default's weights only where
spelling's best key beats its chance level (the default cutoff, on spelling
alone) and meaning's does not, as a real-word typo ("widow" for "window")
does. One more row keeps the default's weights and lets a query answer below
the cutoff too when meaning alone and spelling alone read the same key (two
channels agreeing by chance should be rare). Run: python rules.py (both
encoders, about 3 minutes on 2 cores) or python rules.py --encoders minilm; with
--heldout, on heldout.py's catalogs, which no rule was chosen on.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

import numpy as np
from devdata import KINDS, MISSES, catalogs, tasks
from heldout import build as held_out_build
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from softkv import SoftDict
from softkv.encoders import encode_checked
from softkv.read._background import background_spelling, meaning_on_typos, spelling_background
from softkv.read._evidence import FALSE_RATE, _lead, chance_max  # the read's own lead, not a copy of it
from softkv.spelling import in_vocabulary

GAINS = (1.0, 0.25, 0.5, 2.0)
FIXED = (0.25, 0.5)
FEATURES = 11
GENUINE = [kind for kind in KINDS if kind not in MISSES]


@dataclass
class Channels:
    """One task's two channels in z units, with what the rules need about its queries."""

    catalog: str
    kind: str
    n_keys: int
    meaning: np.ndarray  # (B, N) z of each key
    spelling: np.ndarray  # (B, N)
    meaning_null: np.ndarray  # (B, R) z of the background texts
    spelling_null: np.ndarray  # (B, R)
    leads: np.ndarray  # (B, 2) each channel's lead (the default's weights before they are normalised)
    both: np.ndarray  # (B,) whether the default reads the query with both channels
    exact: np.ndarray  # (B,) the key row a query names exactly, or -1
    right: list[set[int]]
    lengths: np.ndarray  # (B, 2) characters and words of each query
    opposite: np.ndarray  # (B,) the row of the key that means the opposite of the one meant, or -1


def channels(encoder: str, heldout: bool = False) -> list[Channels]:
    """The channels of every task of the dev benchmark (or of heldout.py's), under one encoder."""
    found, all_tasks = held_out_build() if heldout else (catalogs(), tasks())
    out = []
    memories = {name: SoftDict(table, encoder=encoder).snapshot()[0] for name, table in found.items()}
    spelling_mean, spelling_sd = spelling_background("both")
    for task in all_tasks:
        memory = memories[task.catalog]
        keys = memory.keys
        unit = memory.embeddings / np.linalg.norm(memory.embeddings, axis=1, keepdims=True)
        background = memory.background.embeddings
        background = background / np.linalg.norm(background, axis=1, keepdims=True)
        Q = encode_checked(memory.encoder, task.queries).astype(np.float64)
        Q /= np.linalg.norm(Q, axis=1, keepdims=True)
        raw_meaning, raw_background = Q @ unit.T, Q @ background.T
        mean, spread = raw_background.mean(axis=1, keepdims=True), memory.background.meaning_spread
        raw_spelling = memory.spelling(task.queries, "both")[:, :len(keys)].astype(np.float64)
        meaning_null = (raw_background - mean) / spread
        spelling_null = (background_spelling(task.queries, "both") - spelling_mean) / spelling_sd
        leads = np.stack([_lead(raw_meaning, mean[:, 0], spread, meaning_null, None, None),
                          _lead(raw_spelling, spelling_mean, spelling_sd, spelling_null, None, None)], axis=1)
        column = {key: j for j, key in enumerate(keys)}
        out.append(Channels(
            task.catalog, task.kind, len(keys), (raw_meaning - mean) / spread,
            (raw_spelling - spelling_mean) / spelling_sd, meaning_null, spelling_null, leads,
            np.array([not in_vocabulary(q) for q in task.queries]),
            np.array([memory.exact_row(q, True) for q in task.queries]),
            [{column[key] for key in right} for right in task.right],
            np.array([[len(q), len(q.split())] for q in task.queries], dtype=np.float64),
            np.array([column.get(o, -1) if o else -1 for o in task.opposite], dtype=np.int64)))
    return out


def typo_reading(encoder: str) -> float:
    """The default's scale on meaning's lead for this encoder, as the read finds it."""
    memory = SoftDict({"a": 0}, encoder=encoder).snapshot()[0]
    return meaning_on_typos(memory.encoder, memory.background)


def lead_weights(gain: float, power: float = 1.0) -> Any:
    """Meaning's weight (B,) from the channels' leads, meaning's scaled by ``gain``, each raised to ``power``
    (2: as inverse variances weigh two estimates); equal where neither leads."""
    def weigh(c: Channels) -> np.ndarray:
        a, b = (gain * c.leads[:, 0]) ** power, c.leads[:, 1] ** power
        total = a + b
        return np.where(total > 0, a / np.where(total > 0, total, 1.0), 0.5)
    return weigh


def read(c: Channels, w_meaning: np.ndarray, w_known: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(nearest row (B,), answered (B,)) of a linear rule: the default's score and cutoff with these weights;
    ``w_known`` is meaning's weight for the queries of known words (None: meaning alone, as the default)."""
    known = np.ones(len(c.meaning)) if w_known is None else w_known
    w = np.where(c.both, w_meaning, known)[:, None]
    evidence = w * c.meaning + (1.0 - w) * c.spelling
    null = w * c.meaning_null + (1.0 - w) * c.spelling_null
    exact = c.exact >= 0
    nearest = np.where(exact, c.exact, evidence.argmax(axis=1))
    two = c.both | (known < 1.0)  # read with both channels: half the false rate each
    cutoff = chance_max(null, c.n_keys, np.where(two, FALSE_RATE / 2, FALSE_RATE))
    return nearest, exact | (evidence.max(axis=1) >= cutoff)


def spelling_only_beats_chance(c: Channels) -> np.ndarray:
    """(B,) whether spelling's best key beats its chance level (the default cutoff's, on spelling alone) where
    meaning's does not."""
    meaning = c.meaning.max(axis=1) >= chance_max(c.meaning_null, c.n_keys)
    return (c.spelling.max(axis=1) >= chance_max(c.spelling_null, c.n_keys)) & ~meaning


def channels_agree(c: Channels, nearest: np.ndarray) -> np.ndarray:
    """(B,) whether meaning alone and spelling alone both read the key ``nearest`` names."""
    return (c.meaning.argmax(axis=1) == nearest) & (c.spelling.argmax(axis=1) == nearest)


def features(c: Channels) -> np.ndarray:
    """The selector's per-query features (B, FEATURES)."""
    rows = np.arange(len(c.meaning))
    by_meaning, by_spelling = c.meaning.argmax(axis=1), c.spelling.argmax(axis=1)
    found = np.column_stack([
        c.leads, np.log1p(c.leads), c.meaning.max(axis=1), c.spelling.max(axis=1),
        c.meaning[rows, by_spelling], c.spelling[rows, by_meaning], c.lengths,
        np.full(len(rows), np.log(c.n_keys))])
    assert found.shape[1] == FEATURES
    return found


def channel_marks(c: Channels) -> tuple[np.ndarray, np.ndarray]:
    """Whether meaning alone and spelling alone read each query right (B,), as the default reads exact names."""
    exact = c.exact >= 0
    meaning = np.where(exact, c.exact, c.meaning.argmax(axis=1))
    spelling = np.where(exact, c.exact, c.spelling.argmax(axis=1))
    return (np.array([m in r for m, r in zip(meaning, c.right)]),
            np.array([s in r for s, r in zip(spelling, c.right)]))


def selector_marks(found: dict[str, list[Channels]], pooled: bool) -> dict[str, list[np.ndarray]]:
    """Each encoder's per-task marks of a selector trained leave one catalog out."""
    table = []  # (encoder, task, catalog, features, meaning right, spelling right, read with both)
    for encoder, tasks_of in found.items():
        for t, c in enumerate(tasks_of):
            if c.kind in MISSES:
                continue
            m, s = channel_marks(c)
            table.append((encoder, t, c.catalog, features(c), m, s, c.both & (c.exact < 0)))
    marks: dict[str, list[np.ndarray]] = {e: [np.zeros(0)] * len(ts) for e, ts in found.items()}
    fitted: dict[tuple[str, str | None], tuple[StandardScaler, LogisticRegression]] = {}  # one per held-out catalog
    for encoder, t, catalog, X, m, s, chosen in table:
        if (catalog, None if pooled else encoder) not in fitted:
            train = [r for r in table if r[2] != catalog and (pooled or r[0] == encoder)]
            X_train = np.concatenate([r[3][r[6] & (r[4] != r[5])] for r in train])
            y_train = np.concatenate([r[4][r[6] & (r[4] != r[5])] for r in train])
            scaler = StandardScaler().fit(X_train)
            fitted[catalog, None if pooled else encoder] = (
                scaler, LogisticRegression(max_iter=3000).fit(scaler.transform(X_train), y_train))
        scaler, model = fitted[catalog, None if pooled else encoder]
        meaning_wins = model.predict_proba(scaler.transform(X))[:, 1] > 0.5
        marks[encoder][t] = np.where(chosen & ~meaning_wins, s, m).astype(np.float64)
    return marks


def opposites(c: Channels, nearest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For the queries whose key has an opposite: whether the read answers the opposite, and whether both
    channels score the opposite above every key meant (then so does every mix of the two)."""
    rows = np.flatnonzero(c.opposite >= 0)
    above = [all(c.meaning[i, c.opposite[i]] > c.meaning[i, j] and c.spelling[i, c.opposite[i]] > c.spelling[i, j]
                 for j in c.right[i]) for i in rows]
    return nearest[rows] == c.opposite[rows], np.array(above, dtype=bool)


def report(encoder: str, tasks_of: list[Channels], rows: dict[str, list[np.ndarray]],
           misses: dict[str, str]) -> None:
    kinds = [k for k in GENUINE if any(c.kind == k for c in tasks_of)]
    print(f"\n## {encoder}: top-1 by kind (category: top-1), with misses under the default cutoff\n")
    print("| rule | " + " | ".join(kinds) + " | unrelated missed, not in catalog missed, genuine right with cutoff |")
    print("|---|" + "---|" * (len(kinds) + 1))
    for name, per_task in rows.items():
        cells = []
        for kind in kinds:
            marks = [m for c, m in zip(tasks_of, per_task) if c.kind == kind]
            cells.append(f"{np.mean(np.concatenate(marks)):.3f}")
        print(f"| {name} | " + " | ".join(cells) + f" | {misses.get(name, '')} |")


def linear_rows(tasks_of: list[Channels], gain: float) -> tuple[dict[str, list[np.ndarray]], dict[str, str]]:
    default = lead_weights(gain)
    rules: dict[str, Any] = {f"lead, meaning x typo reading {gain:.3f} (the default)": default}
    rules.update({f"lead, meaning x {g}": lead_weights(g) for g in GAINS})
    rules.update({f"fixed {w}": (lambda c, w=w: np.full(len(c.meaning), w)) for w in FIXED})
    rules["leads squared, meaning's x typo reading"] = lead_weights(gain, power=2.0)
    known: dict[str, Any] = {  # meaning's weight for the queries of known words, which the default reads by meaning
        "known words read the same way (no gate)": default, "known words read by the leads, g = 1": lead_weights(1.0),
        "known words read by the leads where spelling's leads more": lambda c: np.where(
            c.leads[:, 1] > c.leads[:, 0], lead_weights(1.0)(c), 1.0),
        "known words read the same way where only spelling beats chance": lambda c: np.where(
            spelling_only_beats_chance(c), default(c), 1.0)}
    agree = "the default, answered too where both channels' best keys agree"
    rows, misses = {}, {}
    for name, weigh in {**rules, **known, agree: default}.items():
        per_task, unrelated, absent, right_cut = [], [], [], []
        for c in tasks_of:
            nearest, answered = read(c, default(c), weigh(c)) if name in known else read(c, weigh(c))
            if name == agree:
                answered = answered | channels_agree(c, nearest)
            if c.kind in MISSES:
                per_task.append(np.zeros(0))
                if c.kind == "unrelated":
                    unrelated.extend(~answered)
                elif c.kind == "not in catalog":
                    absent.extend(~answered)
                continue
            ok = np.array([n in r for n, r in zip(nearest, c.right)], dtype=np.float64)
            per_task.append(ok)
            if c.kind != "category":
                right_cut.extend(ok * answered)
        rows[name] = per_task
        misses[name] = f"{np.mean(unrelated):.1%}, {np.mean(absent):.1%}, {np.mean(right_cut):.1%}"
    return rows, misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default="minilm,multilingual")
    parser.add_argument("--heldout", action="store_true", help="heldout.py's catalogs instead of the dev benchmark")
    arguments = parser.parse_args()
    encoders = arguments.encoders.split(",")
    found = {encoder: channels(encoder, arguments.heldout) for encoder in encoders}
    pooled = selector_marks(found, pooled=True)
    alone = selector_marks(found, pooled=False)
    for encoder, tasks_of in found.items():
        gain = typo_reading(encoder)
        rows, misses = linear_rows(tasks_of, gain)
        if len(encoders) > 1:
            rows["selector, pooled"] = pooled[encoder]
        rows["selector, per encoder"] = alone[encoder]
        oracle = []
        for c in tasks_of:
            m, s = channel_marks(c) if c.kind not in MISSES else (np.zeros(0, bool), np.zeros(0, bool))
            oracle.append((m | s).astype(np.float64))
        rows["oracle"] = oracle
        report(encoder, tasks_of, rows, misses)
        answered, above = [], []
        for c in tasks_of:
            opposite, beyond_reach = opposites(c, read(c, lead_weights(gain)(c))[0])
            answered.extend(opposite)
            above.extend(beyond_reach)
        if answered:
            print(f"\nopposite pairs ({len(answered)} queries): the default answers the opposite key for "
                  f"{np.mean(answered):.1%}; both channels score it above the key meant, as every mix of them "
                  f"does, for {np.mean(above):.1%}")


if __name__ == "__main__":
    main()
