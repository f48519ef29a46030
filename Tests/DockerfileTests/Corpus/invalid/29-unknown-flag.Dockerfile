FROM alpine
COPY --form=base a b
