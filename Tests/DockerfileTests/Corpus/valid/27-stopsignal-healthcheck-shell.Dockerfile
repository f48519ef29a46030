FROM redis:7
STOPSIGNAL 9
HEALTHCHECK --interval=30s --retries=3 CMD redis-cli ping || exit 1
CMD redis-server --appendonly yes
