FROM alpine AS assets
RUN mkdir /assets

FROM alpine
RUN --mount=type=bind,from=assets,source=/assets,target=/mnt ls /mnt
RUN --mount=type=cache,from=assets,source=/assets,target=/cache ls /cache
