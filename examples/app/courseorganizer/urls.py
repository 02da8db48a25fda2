from django.urls import path

from course_api import views

urlpatterns = [
    # The contract's health paths (docs/app-contract.md): liveness, readiness, and liveness under /api/.
    path("health", views.health),
    path("ready", views.ready),
    path("api/health", views.health),
    path("api/csrf", views.csrf),
    path("api/login", views.login_view),
    path("api/groups/<int:group_id>/messages", views.group_messages),
]
