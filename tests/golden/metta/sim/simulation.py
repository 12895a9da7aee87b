"""One simulation of a policy against an environment (patterns A2, S1 NPC, S3, T4, K3, Y1/Y2)."""

from typing import Any

from simple_ckpt import load_agent_from

from metta.agent.policy_store import PolicyStore  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyStore


class Simulation:
    def __init__(
        self,
        name: str,
        config: Any,
        policy_pr: str,
        device: Any,
        npc_policy_uri: str | None = None,
    ) -> None:
        self.name = name
        self._policy_pr = policy_pr
        self._policy_agent = load_agent_from(policy_pr)
        self._npc_pr = load_agent_from(npc_policy_uri) if npc_policy_uri else None
        env = config.make_env()
        self._policy_agent.initialize_to_environment(env.get_observation_features(), env.action_names, env.max_action_args, device)

    @classmethod
    def create(  # TODO(simple-ckpt): callers no longer pass policy_store to create() (the codemod drops it at call sites): remove this parameter and its uses; policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...); PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
        cls, sim_config: Any, policy_store: PolicyStore, device: Any, policy_uri: str | None, run_name: str = "eval"
    ) -> "Simulation":
        policy_record = policy_store.policy_record_or_mock(policy_uri, run_name)  # TODO(simple-ckpt): .policy_record_or_mock(): load the agent when a URI is set (load_agent_from), else use a mock agent; policy_store: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...)
        return cls("sim", sim_config, policy_record, device=device)  # TODO(simple-ckpt): policy_record is a PolicyRecord passed on: decide what replaces it (decision F1)

    @property
    def policy_record(self) -> str:
        return self._policy_pr

    def simulate(self) -> dict[str, float]:
        agent = self._policy_agent
        return {"reward": float(agent is not None)}
