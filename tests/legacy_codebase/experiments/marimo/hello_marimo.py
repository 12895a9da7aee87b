"""A marimo notebook: names travel between cells as parameters and return tuples (pattern M1)."""

import marimo

app = marimo.App()


@app.cell
def setup():
    from metta.agent.policy_store import PolicyStore
    from metta.rl.policy_management import initialize_policy_for_environment

    return PolicyStore, initialize_policy_for_environment


@app.cell
def evaluate(PolicyStore, initialize_policy_for_environment, run_dir, env):
    store = PolicyStore.create(device="cpu", data_dir=run_dir, wandb_config={}, wandb_run=None)
    record = store.policy_records(uri_or_config=f"file://{run_dir}", selector_type="latest", n=1, metric="score")[0]
    initialize_policy_for_environment(policy_record=record, metta_grid_env=env, device="cpu")
    agent = record.policy
    return (agent,)


if __name__ == "__main__":
    app.run()
