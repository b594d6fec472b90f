"""Bandit problems the router is benchmarked on: simulated experts, and real datasets.

A problem is fixed in advance (contexts, every arm's expected quality per round, which arms exist
when), so every policy faces exactly the same rounds and noise; only its choices differ.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from agentos.routing import RouteQuery
from router.features import NodeFeaturizer


@dataclass
class Problem:
    name: str
    X: np.ndarray  # (T, d) contexts
    quality: np.ndarray  # (T, K) expected quality of each arm at each round
    arms: list[str]
    costs: np.ndarray  # (K,) cost per call
    cost_weight: float = 0.0  # reward = quality - cost_weight * cost (+ noise)
    noise: float = 0.0
    available: np.ndarray | None = None  # (T, K) bool; None: every arm always
    drift_at: int | None = None
    note: str = ""
    groups: list[str] | None = None  # the kind of node at each round, for per-kind charts

    @property
    def rounds(self) -> int:
        return len(self.X)

    def net(self) -> np.ndarray:
        """Expected reward of every arm at every round, unavailable arms at -inf."""
        net = self.quality - self.cost_weight * self.costs[None, :]
        if self.available is not None:
            net = np.where(self.available, net, -np.inf)
        return net

    def keys(self, t: int) -> list[int]:
        if self.available is None:
            return list(range(len(self.arms)))
        return [int(i) for i in np.flatnonzero(self.available[t])]


# ---- simulated experts ---------------------------------------------------------------------------

# kinds of node: (domain, templates). Slots are filled from SUBJECTS.
KINDS: dict[str, list[str]] = {
    "photo": ["generate a photo of {s}", "a realistic picture showing {s}", "photograph-style image of {s} at dusk",
              "render a lifelike shot of {s}"],
    "diagram": ["draw a diagram of {s}", "an infographic explaining {s}", "make a flowchart for {s}",
                "sketch a labelled schematic of {s}"],
    "transcribe": ["transcribe the recording about {s}", "turn the voice memo on {s} into text",
                   "write down what the speaker says about {s}", "speech to text for the {s} interview"],
    "speak": ["read the summary of {s} aloud", "synthesise speech announcing {s}", "say the news about {s} out loud",
              "produce a spoken briefing on {s}"],
    "form": ["fill in the signup form for {s}", "complete the web form about {s}",
             "enter the {s} details into the form fields", "submit the registration page for {s}"],
    "navigate": ["open the settings page and find {s}", "click through the site menu to {s}",
                 "browse to the page listing {s}", "navigate the app until {s} is shown"],
    "compare": ["compare the options for {s}", "weigh the pros and cons of {s}",
                "build a comparison matrix of {s}", "which approach to {s} is better"],
    "trace": ["find the sources behind claims on {s}", "trace the citations about {s}",
              "collect references supporting {s}", "where does the statement on {s} come from"],
}
SUBJECTS = ["solar panels", "a red bicycle", "the city library", "battery recycling", "a mountain lake",
            "quantum computing", "the quarterly budget", "a street market", "wind turbines", "the new museum",
            "electric buses", "a birthday party", "coffee roasting", "river pollution", "the chess club"]

# expected quality of each expert per kind (rows follow KINDS), and its cost per call
EXPERTS: dict[str, tuple[list[float], float]] = {
    "generalist": ([0.60, 0.60, 0.60, 0.60, 0.60, 0.60, 0.60, 0.60], 0.1),
    "pixel": ([0.92, 0.70, 0.30, 0.30, 0.35, 0.30, 0.30, 0.30], 0.2),
    "echo": ([0.25, 0.25, 0.88, 0.90, 0.25, 0.25, 0.30, 0.30], 0.2),
    "pilot": ([0.30, 0.30, 0.30, 0.30, 0.92, 0.78, 0.30, 0.35], 0.2),
    "scholar": ([0.35, 0.55, 0.35, 0.35, 0.30, 0.40, 0.86, 0.90], 0.2),
    "premium": ([0.80, 0.80, 0.80, 0.80, 0.80, 0.80, 0.80, 0.80], 0.6),
}


def _nodes(rounds: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    kinds = list(KINDS)
    which = rng.integers(len(kinds), size=rounds)
    texts = []
    for k in which:
        template = KINDS[kinds[k]][rng.integers(len(KINDS[kinds[k]]))]
        texts.append(template.format(s=SUBJECTS[rng.integers(len(SUBJECTS))]))
    return texts, which


def _text_jitter(text: str) -> float:
    """A fixed +-0.05 per text: quality depends on the exact request, not only on its kind."""
    return (zlib.crc32(text.encode()) % 1001) / 10000.0 - 0.05


def simulated_experts(featurizer: NodeFeaturizer, *, rounds: int = 3000, seed: int = 0, drift: bool = True,
                      newcomer: bool = False) -> Problem:
    """Six experts whose quality depends on the node's kind and text, with costs and noise.

    drift: halfway through, `pixel` degrades on photos (0.92 -> 0.40) and `echo` on speech.
    newcomer: `scholar` is absent for the first third and joins afterwards (a catalogue change).
    """
    rng = np.random.default_rng(seed)
    texts, kinds = _nodes(rounds, rng)
    X = np.stack([featurizer.features(RouteQuery(run_id="bench", node_id=f"n{t}", capability="task.solve",
                                                 text=text, input_types={"prompt": "str"}))
                  for t, text in enumerate(_batched(featurizer, texts))])
    arms = list(EXPERTS)
    table = np.array([EXPERTS[a][0] for a in arms]).T  # (kinds, K)
    quality = table[kinds] + np.array([_text_jitter(t) for t in texts])[:, None]
    drift_at = rounds // 2 if drift else None
    if drift_at is not None:
        photo, speak = list(KINDS).index("photo"), list(KINDS).index("speak")
        later = np.arange(rounds) >= drift_at
        quality[later & (kinds == photo), arms.index("pixel")] -= 0.52
        quality[later & (kinds == speak), arms.index("echo")] -= 0.45
    available = None
    if newcomer:
        available = np.ones((rounds, len(arms)), dtype=bool)
        available[: rounds // 3, arms.index("scholar")] = False
    name = "experts" + (" + drift" if drift else "") + (" + newcomer" if newcomer else "")
    return Problem(name, X, np.clip(quality, 0.0, 1.0), arms, np.array([EXPERTS[a][1] for a in arms]),
                   cost_weight=0.3, noise=0.1, available=available, drift_at=drift_at,
                   note="8 node kinds x 4 phrasings x 15 subjects, MiniLM text features",
                   groups=[list(KINDS)[k] for k in kinds])


def _batched(featurizer: NodeFeaturizer, texts: list[str]) -> list[str]:
    featurizer.text_vectors(texts)  # one batched encode fills the cache
    return texts


# ---- real datasets: supervised-to-bandit ---------------------------------------------------------

SKLEARN_DATASETS = ("digits", "wine", "breast_cancer", "iris")


def supervised(dataset: str, *, rounds: int = 2000, seed: int = 0) -> Problem:
    """A scikit-learn dataset as a bandit: one arm per class, reward 1 for the true class, else 0.

    The rows are standardised, shuffled and cycled until `rounds` (the usual conversion, as in
    Bietti et al.'s bake-off, with passes repeated for the small sets).
    """
    from sklearn import datasets

    loader = getattr(datasets, f"load_{dataset}")
    data = loader()
    X = np.asarray(data.data, dtype=float)
    X = (X - X.mean(0)) / (X.std(0) + 1e-9)
    X = np.hstack([X / np.sqrt(X.shape[1]), np.ones((len(X), 1))])
    y = np.asarray(data.target)
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(X)) for _ in range(-(-rounds // len(X)))])[:rounds]
    k = int(y.max()) + 1
    quality = np.eye(k)[y[order]]
    return Problem(dataset, X[order], quality, [f"class{i}" for i in range(k)], np.zeros(k),
                   note=f"{len(X)} rows x {X.shape[1] - 1} features, {k} classes")
