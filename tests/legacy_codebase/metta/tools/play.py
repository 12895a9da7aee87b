"""Play a policy interactively (patterns C1 at a non-training tool, P1 into Simulation.create)."""

from dataclasses import dataclass

from metta.agent.policy_store import PolicyStore
from metta.sim.simulation import Simulation


@dataclass
class PlayTool:
    policy_uri: str | None = None
    device: str = "cpu"
    data_dir: str = "./train_dir"

    def invoke(self) -> None:
        policy_store = PolicyStore.create(device=self.device, data_dir=self.data_dir, wandb_config={}, wandb_run=None)
        sim = Simulation.create(
            sim_config=None,
            policy_store=policy_store,
            device=self.device,
            policy_uri=self.policy_uri,
            run_name="play",
        )
        sim.simulate()
