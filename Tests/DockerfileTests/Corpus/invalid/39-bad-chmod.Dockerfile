FROM alpine
COPY --chmod=u+x a /b
