"""A marimo notebook: names travel between cells as parameters and return tuples (pattern M1)."""

import marimo

app = marimo.App()


@app.cell
def setup():
    from metta.agent.policy_store import PolicyStore  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicyStore
    from metta.rl.policy_management import initialize_policy_for_environment  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses initialize_policy_for_environment

    return PolicyStore, initialize_policy_for_environment  # TODO(simple-ckpt): PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...); initialize_policy_for_environment: inline as agent.initialize_to_environment(...)


@app.cell
def evaluate(PolicyStore, initialize_policy_for_environment, run_dir, env):  # TODO(simple-ckpt): PolicyStore: the policy store is replaced by SimpleCheckpointManager(run_dir=..., run_name=...); initialize_policy_for_environment: inline as agent.initialize_to_environment(...)
    store = PolicyStore.create(device="cpu", data_dir=run_dir, wandb_config={}, wandb_run=None)  # TODO(simple-ckpt): the policy store is built here for loading policies by URI; SimpleCheckpointManager(run_dir=..., run_name=...) covers local runs only (wandb:// and file:// URIs need a decision)
    record = store.policy_records(uri_or_config=f"file://{run_dir}", selector_type="latest", n=1, metric="score")[0]  # TODO(simple-ckpt): .policy_records(): latest -> load_agent(), top n=1 -> find_best_checkpoint(m), all -> list_all_checkpoints() (see simple_ckpt.compat.select_checkpoints); stats-server ranking has no equivalent
    record.policy.initialize_to_environment(env.get_observation_features(), env.action_names, env.max_action_args, "cpu")  # TODO(simple-ckpt): record.policy: the record's agent: use the agent itself (load it with load_agent / load_agent_from)
    agent = record.policy  # TODO(simple-ckpt): record.policy: the record's agent: use the agent itself (load it with load_agent / load_agent_from)
    return (agent,)


if __name__ == "__main__":
    app.run()
