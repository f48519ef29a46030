FROM alpine
COPY ${}/x /y
