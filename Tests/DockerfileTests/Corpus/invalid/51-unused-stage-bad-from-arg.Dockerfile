ARG V
FROM alpine:${V:?pass-V}
