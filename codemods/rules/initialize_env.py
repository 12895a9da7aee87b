"""initialize_policy_for_environment(policy_record=r, metta_grid_env=env, device=d) is inlined (T4).

It becomes ``r.policy.initialize_to_environment(env.get_observation_features(), env.action_names,
env.max_action_args, d)``. When the record came from a load another rule rewrote into an agent, that
rule turns ``r.policy`` into the agent. The legacy helper also restored the original feature mapping
from the record's metadata; the mapping now travels inside the pickled agent (reported).
"""

from __future__ import annotations

import libcst as cst

from codemods.rules._base import LegacyRule
from codemods.rules._shapes import has_star_args, keyword

REQUIRED = ("policy_record", "metta_grid_env", "device")
OPTIONAL = ("restore_feature_mapping",)


class InlineInitializePolicy(LegacyRule):
    DESCRIPTION = "initialize_policy_for_environment(...) -> agent.initialize_to_environment(...)"
    TRIGGERS = frozenset({"initialize_policy_for_environment"})

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not self.bindings.is_legacy(original_node.func, "initialize_policy_for_environment"):
            return updated_node
        keywords = {arg.keyword.value for arg in updated_node.args if arg.keyword is not None}
        positional = [arg for arg in updated_node.args if arg.keyword is None]
        if has_star_args(updated_node) or positional or not set(REQUIRED) <= keywords:
            self.todo("initialize_policy_for_environment: call agent.initialize_to_environment(...) instead")
            return updated_node
        if keywords - set(REQUIRED) - set(OPTIONAL):
            self.todo("initialize_policy_for_environment got unexpected arguments; inline it by hand")
            return updated_node
        record = keyword(updated_node, "policy_record").value  # type: ignore[union-attr]
        env = keyword(updated_node, "metta_grid_env").value  # type: ignore[union-attr]
        device = keyword(updated_node, "device").value  # type: ignore[union-attr]
        agent = cst.Attribute(value=record, attr=cst.Name("policy"))
        args = [
            cst.Arg(cst.Call(func=cst.Attribute(value=env, attr=cst.Name("get_observation_features")))),
            cst.Arg(cst.Attribute(value=env, attr=cst.Name("action_names"))),
            cst.Arg(cst.Attribute(value=env, attr=cst.Name("max_action_args"))),
            cst.Arg(device),
        ]
        self.counted()
        self.report(
            "initialize_policy_for_environment inlined: the feature mapping is no longer restored from "
            "record metadata (it travels inside the saved agent)"
        )
        return cst.Call(
            func=cst.Attribute(value=agent, attr=cst.Name("initialize_to_environment")), args=args
        )
