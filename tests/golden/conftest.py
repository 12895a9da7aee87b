"""This tree is input data for the codemod tests (a legacy mini-codebase), not tests to run."""

collect_ignore_glob = ["*"]
