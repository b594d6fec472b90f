"""The policies the router is measured against, on the same contexts and the same seeds.

Every policy answers `act(x, keys) -> (index, pmf)` and learns with `learn(x, keys, index, reward, p)`,
where `keys` is the candidate list of this round (arms may come and go, as experts do).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from router.policy import PolicyConfig, SoftmaxPolicy
from router.ridge import DiscountedRidge


class BanditPolicy(Protocol):
    name: str

    def act(self, x: np.ndarray, keys: list[str]) -> tuple[int, np.ndarray]: ...

    def learn(self, x: np.ndarray, keys: list[str], index: int, reward: float, p: float) -> None: ...


class Ours:
    """The router's own policy (`SoftmaxPolicy`), as the runtime uses it."""

    def __init__(self, dim: int, config: PolicyConfig | None = None, name: str = "ours"):
        self.name = name
        self.policy = SoftmaxPolicy(dim, config)
        self.last = None

    def act(self, x: np.ndarray, keys: list[str], costs: list[float] | None = None) -> tuple[int, np.ndarray]:
        self.last = self.policy.decide(x, keys, costs)
        return self.last.chosen, self.last.probabilities

    def learn(self, x: np.ndarray, keys: list[str], index: int, reward: float, p: float) -> None:
        self.policy.learn(x, keys[index], reward, p, len(keys))


class _PerArmRidge:
    """One ridge model per arm, made on first sight, learning from the chosen arm's reward."""

    def __init__(self, dim: int):
        self.dim = dim
        self.arms: dict[str, DiscountedRidge] = {}

    def _arm(self, key: str) -> DiscountedRidge:
        arm = self.arms.get(key)
        if arm is None:
            arm = self.arms[key] = DiscountedRidge(self.dim)
        return arm

    def learn(self, x: np.ndarray, keys: list[str], index: int, reward: float, p: float) -> None:
        self._arm(keys[index]).update(x, reward)


class LinUCB(_PerArmRidge):
    """Disjoint LinUCB (Li et al. 2010): argmax of mean + alpha * width, no randomness."""

    def __init__(self, dim: int, alpha: float = 1.0, name: str = "LinUCB"):
        super().__init__(dim)
        self.name, self.alpha = name, alpha

    def act(self, x: np.ndarray, keys: list[str]) -> tuple[int, np.ndarray]:
        ucb = [self._arm(k).mean(x) + self.alpha * self._arm(k).width(x) for k in keys]
        i = int(np.argmax(ucb))
        return i, np.eye(len(keys))[i]


class EpsilonGreedy(_PerArmRidge):
    """Greedy on per-arm ridge means, uniform with probability epsilon."""

    def __init__(self, dim: int, epsilon: float = 0.05, seed: int = 0, name: str = "epsilon-greedy"):
        super().__init__(dim)
        self.name, self.epsilon = name, epsilon
        self.rng = np.random.default_rng(seed)

    def act(self, x: np.ndarray, keys: list[str]) -> tuple[int, np.ndarray]:
        k = len(keys)
        pmf = np.full(k, self.epsilon / k)
        pmf[int(np.argmax([self._arm(key).mean(x) for key in keys]))] += 1.0 - self.epsilon
        return int(self.rng.choice(k, p=pmf)), pmf


class Uniform:
    def __init__(self, seed: int = 0, name: str = "uniform random"):
        self.name = name
        self.rng = np.random.default_rng(seed)

    def act(self, x: np.ndarray, keys: list[str]) -> tuple[int, np.ndarray]:
        k = len(keys)
        return int(self.rng.integers(k)), np.full(k, 1.0 / k)

    def learn(self, x: np.ndarray, keys: list[str], index: int, reward: float, p: float) -> None:
        pass


class VowpalWabbit:
    """VW's `--cb_explore_adf`: shared features `|s`, one line per action `|a`, quadratic `-q sa`.

    VW minimises cost, so it learns cost = -reward. Its label is `action:cost:probability` on the
    chosen action's line (`cost:probability` alone silently learns nothing).
    """

    def __init__(self, explore: str, seed: int = 0, name: str | None = None):
        import vowpalwabbit

        self.name = name or f"VW {explore}"
        self.vw = vowpalwabbit.Workspace(f"--cb_explore_adf {explore} -q sa --quiet --random_seed {seed}")
        self.rng = np.random.default_rng(seed)

    @staticmethod
    def _lines(x: np.ndarray, keys: list[str], label: tuple[int, float, float] | None = None) -> list[str]:
        shared = "shared |s " + " ".join(f"f{i}:{v:.5g}" for i, v in enumerate(x) if v != 0.0)
        lines = [shared]
        for i, key in enumerate(keys):
            tag = f"0:{label[1]:.6g}:{label[2]:.6g} " if label is not None and label[0] == i else ""
            lines.append(f"{tag}|a a={key}")
        return lines

    def act(self, x: np.ndarray, keys: list[str]) -> tuple[int, np.ndarray]:
        pmf = np.asarray(self.vw.predict(self._lines(x, keys)), dtype=float)
        pmf = np.clip(pmf, 0.0, None)
        pmf = pmf / pmf.sum() if pmf.sum() > 0 else np.full(len(keys), 1.0 / len(keys))
        return int(self.rng.choice(len(keys), p=pmf)), pmf

    def learn(self, x: np.ndarray, keys: list[str], index: int, reward: float, p: float) -> None:
        self.vw.learn(self._lines(x, keys, (index, -reward, max(p, 1e-6))))

    def close(self) -> None:
        self.vw.finish()
