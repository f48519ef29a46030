FROM alpine
HEALTHCHECK --interval=30x CMD true
