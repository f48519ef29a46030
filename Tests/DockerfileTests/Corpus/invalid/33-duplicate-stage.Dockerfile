FROM alpine AS x
FROM debian AS X
