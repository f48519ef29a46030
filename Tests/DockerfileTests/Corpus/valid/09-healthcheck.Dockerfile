FROM python:3.12-slim
HEALTHCHECK --interval=5m --timeout=3s \
  CMD curl -f http://localhost/ || exit 1
HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=10s --start-interval=2s --retries=5 CMD ["python", "-c", "print(1)"]
HEALTHCHECK NONE
HEALTHCHECK CMD true
