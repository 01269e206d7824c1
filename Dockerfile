# Production image: gunicorn serving Django, the same image runs the Celery worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STATIC_MANIFEST=1 \
    VAR_DIR=/var/lib/matchcrm

WORKDIR /app
RUN useradd --system --create-home --home-dir /var/lib/matchcrm matchcrm
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic needs settings but no database or secret of the deployment.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && chown -R matchcrm /var/lib/matchcrm
USER matchcrm
EXPOSE 8000
CMD ["gunicorn", "matchcrm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
