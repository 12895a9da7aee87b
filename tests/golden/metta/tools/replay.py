"""Record a replay of a policy (patterns C1, P1 drop, K3: the simulation exposes its record)."""

from dataclasses import dataclass

from metta.sim.simulation import Simulation


@dataclass
class ReplayTool:
    policy_uri: str | None = None
    device: str = "cpu"

    def invoke(self) -> str:
        sim = Simulation.create(
            sim_config=None,
            device=self.device,
            policy_uri=self.policy_uri,
        )
        return sim.policy_record.run_name  # TODO(simple-ckpt): .policy_record: exposed the PolicyRecord; use the checkpoint path or agent the caller already holds
