FROM alpine AS deps
FROM alpine
RUN --mount=from=dep,target=/d true
