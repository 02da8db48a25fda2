"""
/ws/groups/<id>/: a member's WebSocket on a study group. Messages are saved on the group's shard and sent to the
group through the channel layer, so every Daphne process (any machine, any pod) delivers them to its own clients.

Heartbeats: Google's load balancer closes a WebSocket that carried no data for the backend timeout, and it does
not count ping/pong control frames. Clients send {"type": "ping"} as a data frame every 30 s (the contract's
WS_HEARTBEAT_SECONDS); the consumer answers {"type": "pong"}.
"""
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer

from courseorganizer.db_routers import shard_for

from .models import GroupMessage, StudyGroupMembership


def group_name(group_id):
    return f"group_{int(group_id)}"


def broadcast(group_id, message):
    """From synchronous code (a view): send a saved message to everyone on the group."""
    async_to_sync(get_channel_layer().group_send)(group_name(group_id), {"type": "group.message", "message": message})


class GroupConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.group_id = int(self.scope["url_route"]["kwargs"]["group_id"])
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not await self._is_member(user.id):
            await self.close(code=4403)
            return
        await self.channel_layer.group_add(group_name(self.group_id), self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group_id"):
            await self.channel_layer.group_discard(group_name(self.group_id), self.channel_name)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type")
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "message":
            saved = await self._save(str(content.get("content", ""))[:4000])
            await self.channel_layer.group_send(group_name(self.group_id), {"type": "group.message", "message": saved})

    async def group_message(self, event):
        await self.send_json({"type": "message", "message": event["message"]})

    @database_sync_to_async
    def _is_member(self, user_id):
        return StudyGroupMembership.objects.filter(user_id=user_id, group_id=self.group_id).exists()

    @database_sync_to_async
    def _save(self, text):
        msg = GroupMessage(group_id=self.group_id, sender_id=self.scope["user"].id, content=text)
        msg.save(using=shard_for(self.group_id))
        return msg.as_json()
