from django.apps import AppConfig


class CourseApiConfig(AppConfig):
    name = "course_api"
    default_auto_field = "django.db.models.BigAutoField"
