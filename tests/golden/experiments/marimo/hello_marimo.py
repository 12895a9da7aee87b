"""A marimo notebook: names travel between cells as parameters and return tuples (pattern M1)."""

import marimo

app = marimo.App()


@app.cell
def setup():
    from simple_ckpt import SimpleCheckpointManager

    return (SimpleCheckpointManager,)


@app.cell
def evaluate(SimpleCheckpointManager, run_dir, env):
    record = SimpleCheckpointManager(run_dir=run_dir).load_agent()
    record.initialize_to_environment(env.get_observation_features(), env.action_names, env.max_action_args, "cpu")
    agent = record
    return (agent,)


if __name__ == "__main__":
    app.run()
