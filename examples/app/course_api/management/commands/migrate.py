"""
Django's `migrate`, which the contract's `migrate` process runs (`python manage.py migrate --noinput`), extended to
the shards: without --database it migrates `default` and then every shard_<i> of DATABASE_SHARD_COUNT (stage 4),
where the shard router lets only the sharded models in. With --database it is Django's own.
"""
import sys

from django.conf import settings
from django.core.management.commands.migrate import Command as DjangoMigrate


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        explicit = any(a == "--database" or a.startswith("--database=") for a in sys.argv)
        if explicit or not settings.SHARD_COUNT:
            return super().handle(*args, **options)
        for alias in ["default", *[f"shard_{i}" for i in range(settings.SHARD_COUNT)]]:
            self.stdout.write(f"migrating {alias}")
            super().handle(*args, **{**options, "database": alias})
