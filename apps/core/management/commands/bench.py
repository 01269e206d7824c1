"""Run registered benchmarks (apps.core.bench): one, or all of them with --all."""

import json

from django.core.management.base import BaseCommand, CommandError

from apps.core import bench


class Command(BaseCommand):
    help = "Time a registered benchmark (e.g. `bench members --json`) or every one of them (`bench --all --json`)."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="the bench to run; see --list")
        parser.add_argument("--all", action="store_true", help="run every registered bench")
        parser.add_argument("--list", action="store_true", help="print the registered bench names and exit")
        parser.add_argument("--json", action="store_true", help="print one JSON object per bench, one per line")
        parser.add_argument("--agency", default="bench", help="slug of the agency to bench (default: bench)")
        parser.add_argument("--requests", type=int, default=30, help="timed requests per measurement (default 30)")
        parser.add_argument("--warmup", type=int, default=3, help="untimed requests first (default 3)")

    def handle(self, *args, **options):
        if options["list"]:
            self.stdout.write("\n".join(bench.names()))
            return
        if options["all"] == bool(options["name"]):
            raise CommandError(f"name one bench or pass --all; registered: {', '.join(bench.names()) or 'none'}")
        if options["requests"] < 1 or options["warmup"] < 0:
            raise CommandError("--requests must be at least 1 and --warmup at least 0")
        selected = bench.names() if options["all"] else [options["name"]]
        unknown = [name for name in selected if name not in bench.names()]
        if unknown:
            raise CommandError(f"unknown bench {unknown[0]!r}; registered: {', '.join(bench.names()) or 'none'}")
        for name in selected:
            result = bench.get(name)(options)
            if options["json"]:
                self.stdout.write(json.dumps(result, ensure_ascii=False))
            else:
                self.stdout.write(f"{name}:")
                for key, value in result.items():
                    if key != "bench":
                        self.stdout.write(f"  {key}: {json.dumps(value, ensure_ascii=False)}")
