"""Record a replay of a policy (patterns C1, P1 drop, K3: the simulation exposes its record)."""

from dataclasses import dataclass

from metta.agent.policy_store import PolicyStore
from metta.sim.simulation import Simulation


@dataclass
class ReplayTool:
    policy_uri: str | None = None
    device: str = "cpu"

    def invoke(self) -> str:
        policy_store = PolicyStore.create(device=self.device, data_dir="./train_dir", wandb_config={}, wandb_run=None)
        sim = Simulation.create(
            sim_config=None,
            policy_store=policy_store,  # the simulation loads the policy through the store
            device=self.device,
            policy_uri=self.policy_uri,
        )
        return sim.policy_record.run_name
