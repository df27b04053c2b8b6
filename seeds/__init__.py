"""Demo data generator: `python -m seeds --db PATH [--seed N] [--companies N] [--problems N]`."""

from seeds.generator import DEMO_PASSWORD, MAIN_ACCOUNTS, SeedError, generate

__all__ = ["DEMO_PASSWORD", "MAIN_ACCOUNTS", "SeedError", "generate"]
