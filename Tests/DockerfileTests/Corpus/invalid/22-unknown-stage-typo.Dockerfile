FROM alpine AS builder
FROM alpine
COPY --from=buidler /x /x
