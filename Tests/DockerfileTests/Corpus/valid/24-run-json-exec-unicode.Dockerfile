FROM alpine
RUN ["sh", "-c", "echo \"quoted\" \u00e9 \\ tab\tend"]
ENTRYPOINT ["/docker-entrypoint.sh"]
CMD []
