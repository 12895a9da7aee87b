"""Play a policy interactively (patterns C1 at a non-training tool, P1 into Simulation.create)."""

from dataclasses import dataclass

from metta.sim.simulation import Simulation


@dataclass
class PlayTool:
    policy_uri: str | None = None
    device: str = "cpu"
    data_dir: str = "./train_dir"

    def invoke(self) -> None:
        sim = Simulation.create(
            sim_config=None,
            device=self.device,
            policy_uri=self.policy_uri,
            run_name="play",
        )
        sim.simulate()
