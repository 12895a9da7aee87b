"""The manager end to end in a run dir, in a few seconds: step 1 of `simple-ckpt demo` (``--train-only``).

A tiny policy learns a synthetic task for a few epochs; every epoch saves the agent with metadata
(score, agent_step, nested evals) and the trainer state. Then the "job dies", a new process-like phase
resumes from `load_agent` + `load_trainer_state`, checks that it got back exactly what was saved, trains
on, and finally prints the checkpoint table and the best checkpoint.

The demo is a list of steps over a shared `DemoContext` (`DEFAULT_STEPS`); `run_demo` accepts other
steps, so the full legacy -> new journey (write legacy files, migrate, codemod, resume) can be added
by prepending or appending steps without touching these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import torch

from simple_ckpt.errors import SimpleCkptError

OBS_DIM = 8
N_ACTIONS = 4


def _torch() -> Any:
    return torch


class TinyPolicy(torch.nn.Module):
    """obs (OBS_DIM) -> action logits (N_ACTIONS); defined here so its pickles load wherever this imports."""

    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(OBS_DIM, 32), torch.nn.Tanh(), torch.nn.Linear(32, N_ACTIONS)
        )

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)


def make_policy() -> TinyPolicy:
    return TinyPolicy()


@dataclass
class DemoContext:
    """What the demo steps share."""

    run_dir: Path
    run_name: str
    epochs_per_phase: int
    echo: Callable[[str], None]
    seed: int = 0
    agent: Any = None
    optimizer: Any = None
    epoch: int = 0
    agent_step: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    def manager(self) -> Any:
        from simple_ckpt.manager import SimpleCheckpointManager

        return SimpleCheckpointManager(self.run_dir, self.run_name)


DemoStep = Callable[[DemoContext], None]


def _task(seed: int, n: int) -> tuple[Any, Any]:
    torch = _torch()
    gen = torch.Generator().manual_seed(seed)
    teacher = torch.randn(OBS_DIM, N_ACTIONS, generator=torch.Generator().manual_seed(1234))
    obs = torch.randn(n, OBS_DIM, generator=gen)
    return obs, (obs @ teacher).argmax(dim=1)


def _train_epochs(ctx: DemoContext, manager: Any, count: int) -> None:
    torch = _torch()
    eval_obs, eval_actions = _task(999, 512)
    for _ in range(count):
        ctx.epoch += 1
        obs, actions = _task(ctx.seed * 1000 + ctx.epoch, 256)
        for start in range(0, len(obs), 32):
            loss = torch.nn.functional.cross_entropy(
                ctx.agent(obs[start : start + 32]), actions[start : start + 32]
            )
            ctx.optimizer.zero_grad()
            loss.backward()
            ctx.optimizer.step()
            ctx.agent_step += 32
        with torch.no_grad():
            accuracy = (ctx.agent(eval_obs).argmax(dim=1) == eval_actions).float().mean()
        metadata = {
            "agent_step": ctx.agent_step,
            "score": accuracy,  # a 0-d tensor: stored as a plain float
            "evals": {"accuracy": accuracy, "loss": loss.detach()},
        }
        manager.save_agent(ctx.agent, ctx.epoch, metadata)
        manager.save_trainer_state(ctx.optimizer, ctx.epoch, ctx.agent_step)
        ctx.echo(f"  epoch {ctx.epoch}: agent_step {ctx.agent_step}, score {float(accuracy):.3f}")


def step_train(ctx: DemoContext) -> None:
    """Train a fresh policy, checkpointing every epoch."""
    torch = _torch()
    torch.manual_seed(ctx.seed)
    ctx.echo(f"training a fresh policy in {ctx.run_dir}")
    with ctx.manager() as manager:
        if manager.list_all_checkpoints():
            raise SimpleCkptError(f"{ctx.run_dir}: already has checkpoints; the demo needs an empty run dir")
        ctx.agent = make_policy()
        ctx.optimizer = torch.optim.Adam(ctx.agent.parameters(), lr=1e-2)
        _train_epochs(ctx, manager, ctx.epochs_per_phase)
    ctx.notes["saved_state"] = {k: v.clone() for k, v in ctx.agent.state_dict().items()}
    ctx.notes["saved_optimizer"] = ctx.optimizer.state_dict()


def step_resume(ctx: DemoContext) -> None:
    """Forget everything in memory, resume from the run dir, check it, train on."""
    torch = _torch()
    ctx.agent = ctx.optimizer = None  # the job "died"
    with ctx.manager() as manager:
        agent = manager.load_agent()
        state = manager.load_trainer_state()
        if agent is None or state is None:
            raise RuntimeError("resume found no checkpoint")
        optimizer = torch.optim.Adam(agent.parameters(), lr=1e-2)
        optimizer.load_state_dict(state["optimizer_state"])
        saved = ctx.notes.get("saved_state")
        if saved is not None:
            same = all(torch.equal(saved[k], v) for k, v in agent.state_dict().items())
            ctx.echo(
                f"resumed at epoch {state['epoch']}, agent_step {state['agent_step']}: parameters identical: {same}"
            )
        ctx.agent, ctx.optimizer = agent, optimizer
        ctx.epoch, ctx.agent_step = int(state["epoch"]), int(state["agent_step"])
        _train_epochs(ctx, manager, ctx.epochs_per_phase)


def step_report(ctx: DemoContext) -> None:
    """Print the checkpoint table and the best checkpoint (from the YAML sidecars only)."""
    from simple_ckpt.commands import format_table

    manager = ctx.manager()
    infos = manager.list_all_checkpoints()
    ctx.echo("")
    ctx.echo(format_table(infos))
    best = manager.find_best_checkpoint("evals.accuracy")
    ctx.notes["best"] = best
    ctx.echo(f"best by evals.accuracy: {best}")


DEFAULT_STEPS: tuple[DemoStep, ...] = (step_train, step_resume, step_report)


def run_demo(
    run_dir: Path,
    *,
    steps: Sequence[DemoStep] = DEFAULT_STEPS,
    epochs_per_phase: int = 3,
    echo: Callable[[str], None] = click.echo,
) -> DemoContext:
    """Run ``steps`` in order over one context rooted at ``run_dir``; returns the context."""
    ctx = DemoContext(
        run_dir=Path(run_dir), run_name=Path(run_dir).name, epochs_per_phase=epochs_per_phase, echo=echo
    )
    for step in steps:
        step(ctx)
    return ctx
