FROM alpine
WORKDIR /app/${DIR
