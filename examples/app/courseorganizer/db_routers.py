"""
The shard router (stage 4): a group's messages live on shard_<group_id % DATABASE_SHARD_COUNT>, so a group's
history is one index scan on one shard; users, groups and memberships stay on `default`. Without shards (stages
1-3) everything is on `default`. Queries on a sharded model name their database: `.using(shard_for(group_id))`.
"""
from django.conf import settings

SHARDED_MODELS = {"course_api.groupmessage"}


def _label(model):
    return f"{model._meta.app_label}.{model._meta.model_name}"


def shard_for(group_id):
    n = settings.SHARD_COUNT
    return f"shard_{int(group_id) % n}" if n else "default"


def shard_aliases():
    return [f"shard_{i}" for i in range(settings.SHARD_COUNT)] or ["default"]


class ShardRouter:
    def _route(self, model, hints):
        if _label(model) not in SHARDED_MODELS:
            return "default"
        instance = hints.get("instance")
        return shard_for(instance.group_id) if instance is not None else None

    def db_for_read(self, model, **hints):
        return self._route(model, hints)

    def db_for_write(self, model, **hints):
        return self._route(model, hints)

    def allow_relation(self, obj1, obj2, **hints):
        return obj1._state.db == obj2._state.db

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == "analytics":
            return False  # a read-only replica
        if model_name is None:
            return None
        sharded = f"{app_label}.{model_name}" in SHARDED_MODELS
        if not settings.SHARD_COUNT:
            return db == "default"
        return db.startswith("shard_") if sharded else db == "default"
