"""`python -m simple_ckpt` is the `simple-ckpt` command."""

from simple_ckpt.cli import run

run()
