"""One simulation of a policy against an environment (patterns A2, S1 NPC, S3, T4, K3, Y1/Y2)."""

from typing import Any

from metta.agent.policy_record import PolicyRecord
from metta.agent.policy_store import PolicyStore
from metta.rl.policy_management import initialize_policy_for_environment


class Simulation:
    def __init__(
        self,
        name: str,
        config: Any,
        policy_pr: PolicyRecord,
        policy_store: PolicyStore,
        device: Any,
        npc_policy_uri: str | None = None,
    ) -> None:
        self.name = name
        self._policy_pr = policy_pr
        self._policy_store = policy_store
        self._npc_pr = policy_store.policy_record(npc_policy_uri) if npc_policy_uri else None
        env = config.make_env()
        initialize_policy_for_environment(
            policy_record=self._policy_pr,
            metta_grid_env=env,
            device=device,
        )

    @classmethod
    def create(
        cls, sim_config: Any, policy_store: PolicyStore, device: Any, policy_uri: str | None, run_name: str = "eval"
    ) -> "Simulation":
        policy_record = policy_store.policy_record_or_mock(policy_uri, run_name)
        return cls("sim", sim_config, policy_record, policy_store, device=device)

    @property
    def policy_record(self) -> PolicyRecord:
        return self._policy_pr

    def simulate(self) -> dict[str, float]:
        agent = self._policy_pr.policy
        return {"reward": float(agent is not None)}
