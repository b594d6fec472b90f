"""The learned router: node features z, pi = softmax over candidates, online updates, state.

`AdaptiveRouter` is what the runtime uses (the `adaptive` entry point); `SoftmaxPolicy` is its
decision core on plain vectors, which the benchmark also drives directly.
"""

from router.adaptive import AdaptiveOptions, AdaptiveRouter
from router.policy import Choice, PolicyConfig, SoftmaxPolicy

__all__ = ["AdaptiveOptions", "AdaptiveRouter", "Choice", "PolicyConfig", "SoftmaxPolicy"]
