"""Where the jobs live: importing these modules registers them (see registry.job)."""

from importlib import import_module

JOB_MODULES = ("apps.jobs.reminders", "apps.jobs.escalation", "apps.jobs.discovery")


def load() -> None:
    for module in JOB_MODULES:
        import_module(module)
