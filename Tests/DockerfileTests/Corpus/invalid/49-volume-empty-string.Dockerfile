FROM alpine
VOLUME ["/ok", ""]
