"""
Courses, study groups and their messages, with the table and column names the platform's index SQL expects
(src/files/db-indexes.ts: course_api_groupmessage(group_id, created_at DESC), course_api_studygroup(student_class_id),
course_api_studygroupmembership(user_id, group_id)). Those indexes are the platform's, built CONCURRENTLY after the
migrations, so the models do not declare them. A message refers to its group and sender by id: at stage 4 it lives
on a shard, where no foreign key to the users database can exist.
"""
from django.conf import settings
from django.db import models
from django.utils import timezone


class Course(models.Model):
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)


class StudyGroup(models.Model):
    name = models.CharField(max_length=200)
    student_class_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)


class StudyGroupMembership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_index=False)
    group = models.ForeignKey(StudyGroup, on_delete=models.CASCADE, db_index=False)
    joined_at = models.DateTimeField(default=timezone.now)


class GroupMessage(models.Model):
    group_id = models.BigIntegerField()
    sender_id = models.BigIntegerField()
    content = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    def as_json(self):
        return {"id": self.id, "group": self.group_id, "sender": self.sender_id, "content": self.content, "created_at": self.created_at.isoformat()}
