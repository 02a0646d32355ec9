"""What the registry adds to other parts: ``@champion`` follows every promotion (registered at
start-up by ``ExperimentsConfig.ready``, so benchmarks imports nothing of the registry)."""

from experiments.benchmarks.services import register_promotion_hook
from experiments.registry.champion import champion_follow

register_promotion_hook(champion_follow)
