FROM alpine AS first
RUN --mount=type=bind,from=second,target=/m true
FROM alpine AS second
