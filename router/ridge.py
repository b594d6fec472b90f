"""One arm's reward model: Bayesian ridge regression of reward on the node's features.

Ridge rather than SGD because a router sees tens to thousands of calls, not millions: the closed
form uses every observation fully from the first one, and its posterior variance is the
uncertainty that drives both the exploration bonus and the confidence gate. A discount < 1
forgets old data geometrically while keeping the prior's strength fixed, so an expert that
degrades loses traffic within a few dozen calls instead of never.
"""

from __future__ import annotations

import numpy as np


class DiscountedRidge:
    """Posterior of reward = prior_mean + theta . x, with data weighted by discount**age."""

    def __init__(self, dim: int, *, l2: float = 1.0, discount: float = 1.0, prior_mean: float = 0.0,
                 shift_z: float = 0.0):
        if not 0.0 < discount <= 1.0:
            raise ValueError(f"discount must be in (0, 1], got {discount}")
        self.dim, self.l2, self.discount, self.prior_mean = dim, l2, discount, prior_mean
        self.A = l2 * np.eye(dim)
        self.A_inv = np.eye(dim) / l2
        self.b = np.zeros(dim)
        self.theta = np.zeros(dim)
        self.pulls = 0  # updates ever
        self.weight = 0.0  # discounted sum of importance weights: the evidence it holds now
        self.sq_err = 0.0  # discounted sum of weighted squared residuals, for the noise estimate
        self.shift_z = shift_z  # > 0: forget most evidence when recent residuals drift this many sds from 0
        self.drift = 0.0  # exponentially weighted mean of the latest residuals
        self.shifts = 0  # times a shift was detected
        self.reward_sum = 0.0  # discounted, weighted sum of rewards (reward_sum / weight: the mean seen)

    def mean(self, x: np.ndarray) -> float:
        return self.prior_mean + float(self.theta @ x)

    def width(self, x: np.ndarray) -> float:
        """Posterior standard deviation of the mean at x, in units of the noise scale."""
        return float(np.sqrt(max(x @ self.A_inv @ x, 0.0)))

    def mean_reward(self) -> float | None:
        """The (discounted) mean reward this arm has earned, None before any."""
        return self.reward_sum / self.weight if self.weight > 0 else None

    def noise(self) -> float:
        """Residual standard deviation seen so far (a weak prior of 0.3 until there is data)."""
        return float(np.sqrt((self.sq_err + 0.3**2 * 2.0) / (self.weight + 2.0)))

    def update(self, x: np.ndarray, reward: float, weight: float = 1.0) -> None:
        err = reward - self.mean(x)
        if self.shift_z > 0:
            self._watch(err)
        g = self.discount
        self.sq_err = g * self.sq_err + weight * err * err
        self.weight = g * self.weight + weight
        self.reward_sum = g * self.reward_sum + weight * reward
        self.b = g * self.b + weight * (reward - self.prior_mean) * x
        if g == 1.0:  # Sherman-Morrison: O(d^2)
            ax = self.A_inv @ x
            self.A_inv -= np.outer(ax, ax) * (weight / (1.0 + weight * float(x @ ax)))
            self.A += weight * np.outer(x, x)
        else:  # the prior stays l2 * I while the data decays: a fresh inverse, O(d^3) but d is small
            self.A = g * self.A + (1.0 - g) * self.l2 * np.eye(self.dim) + weight * np.outer(x, x)
            self.A_inv = np.linalg.inv(self.A)
        self.theta = self.A_inv @ self.b
        self.pulls += 1

    def _watch(self, err: float, alpha: float = 0.1, keep: float = 0.1) -> None:
        """Change detection on the residuals: a well-fit model's recent residuals average about 0; a
        run of them far from 0 means the expert changed, so keep only `keep` of the old evidence."""
        self.drift = (1 - alpha) * self.drift + alpha * err
        sd = self.noise() * np.sqrt(alpha / (2 - alpha))
        if self.pulls >= 20 and abs(self.drift) > self.shift_z * sd:
            eye = self.l2 * np.eye(self.dim)
            self.A = eye + keep * (self.A - eye)
            self.b *= keep
            self.weight *= keep
            self.sq_err *= keep
            self.reward_sum *= keep
            self.A_inv = np.linalg.inv(self.A)
            self.theta = self.A_inv @ self.b
            self.drift = 0.0
            self.shifts += 1

    # persistence --------------------------------------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        return {"A": self.A, "b": self.b,
                "scalars": np.array([self.pulls, self.weight, self.sq_err, self.prior_mean, self.l2, self.discount,
                                     self.shift_z, self.drift, self.shifts, self.reward_sum])}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> DiscountedRidge:
        pulls, weight, sq_err, prior_mean, l2, discount, shift_z, drift, shifts, reward_sum = (
            float(v) for v in arrays["scalars"])
        arm = cls(int(arrays["A"].shape[0]), l2=l2, discount=discount, prior_mean=prior_mean, shift_z=shift_z)
        arm.drift, arm.shifts, arm.reward_sum = drift, int(shifts), reward_sum
        arm.A, arm.b = np.array(arrays["A"], dtype=float), np.array(arrays["b"], dtype=float)
        arm.A_inv = np.linalg.inv(arm.A)
        arm.theta = arm.A_inv @ arm.b
        arm.pulls, arm.weight, arm.sq_err = int(pulls), weight, sq_err
        return arm
