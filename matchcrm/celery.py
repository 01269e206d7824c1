"""The Celery application. Tasks live in each app's tasks.py; tenant tasks use TenantTask."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "matchcrm.settings")

app = Celery("matchcrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
