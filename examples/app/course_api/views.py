"""Health endpoints of the contract, and the JSON API: log in by e-mail, read and post a group's messages."""
import json

from django.contrib.auth import authenticate, login
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from courseorganizer.db_routers import shard_for

from .models import GroupMessage, StudyGroup, StudyGroupMembership
from .pubsub import enqueue_email


@require_GET
def health(request):
    """Liveness (/health, /api/health): the process answers; no dependency is checked."""
    return JsonResponse({"status": "ok"})


@require_GET
def ready(request):
    """Readiness (/ready): every database the process uses and Redis answer."""
    problems = {}
    for alias in connections:
        if alias == "analytics":
            continue
        try:
            with connections[alias].cursor() as c:
                c.execute("SELECT 1")
        except Exception as e:  # noqa: BLE001 - any failure means not ready
            problems[alias] = type(e).__name__
    try:
        cache.set("ready-probe", 1, 10)
    except Exception as e:  # noqa: BLE001
        problems["redis"] = type(e).__name__
    return JsonResponse({"status": "ready" if not problems else "not ready", "problems": problems}, status=503 if problems else 200)


@require_GET
def csrf(request):
    return JsonResponse({"csrfToken": get_token(request)})


@require_POST
def login_view(request):
    body = json.loads(request.body or b"{}")
    user = authenticate(request, email=body.get("email"), password=body.get("password"))
    if user is None:
        return JsonResponse({"error": "invalid credentials"}, status=401)
    login(request, user)
    return JsonResponse({"id": user.id, "email": user.email})


@require_http_methods(["GET", "POST"])
def group_messages(request, group_id):
    """GET: the group's latest 50 messages (one shard); POST {"content"}: a new message, announced on the group."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "login required"}, status=401)
    group = StudyGroup.objects.filter(id=group_id).first()
    if group is None:
        return JsonResponse({"error": "no such group"}, status=404)
    if not StudyGroupMembership.objects.filter(user_id=request.user.id, group_id=group.id).exists():
        return JsonResponse({"error": "not a member"}, status=403)
    db = shard_for(group.id)
    if request.method == "GET":
        rows = GroupMessage.objects.using(db).filter(group_id=group.id).order_by("-created_at")[:50]
        return JsonResponse({"group": group.id, "database": db, "messages": [m.as_json() for m in rows]})
    body = json.loads(request.body or b"{}")
    msg = GroupMessage(group_id=group.id, sender_id=request.user.id, content=str(body.get("content", ""))[:4000])
    msg.save(using=db)
    from .consumers import broadcast

    broadcast(group.id, msg.as_json())
    if body.get("notify"):
        enqueue_email({"type": "group_message", "group": group.id, "message": msg.id, "to": body["notify"]})
    return JsonResponse({**msg.as_json(), "database": db}, status=201)
