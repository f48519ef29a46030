FROM alpine
COPY --parents a/b /c/
