"""Gunicorn settings for production: `gunicorn -c config/gunicorn_settings.py`.

Every value can be set from the environment (GUNICORN_*), e.g. GUNICORN_WORKERS=9. Sync workers:
each request holds one worker, database work is short, and the request form's emails go from a
thread of their own. nginx stands in front on the same host (deploy/nginx/): it hands a worker
whole requests and takes whole responses, so no slow client holds one (docs/deploy.md).
"""

from config.env import env_int, env_str, web_workers

wsgi_app = "config.wsgi:application"
bind = env_str("GUNICORN_BIND", "127.0.0.1:8000")
# GUNICORN_WORKERS, else WEB_CONCURRENCY, else two per core plus one. With more than one, the
# cache must be shared (REDIS_URL): config/wsgi.py refuses to start otherwise.
workers = web_workers()
worker_class = "sync"
timeout = env_int("GUNICORN_TIMEOUT", 30, minimum=1)
graceful_timeout = 30
keepalive = 5
# Replace workers now and then, so no slow leak can grow for ever.
max_requests = 5000
max_requests_jitter = 500
# The application logs every request itself (JSON, no personal data): no access log here.
accesslog = None
errorlog = "-"
loglevel = env_str("GUNICORN_LOG_LEVEL", "warning")
# gunicorn itself believes X-Forwarded-Proto only from these addresses; the application checks
# its own list too (TRUSTED_PROXIES, core/proxy.py), which also covers X-Forwarded-For.
forwarded_allow_ips = env_str("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# No control socket: nothing uses it, and the systemd unit keeps the file system read-only.
control_socket_disable = True
