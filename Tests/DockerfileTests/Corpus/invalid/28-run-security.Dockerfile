FROM alpine
RUN --security=insecure true
