FROM alpine
ARG SKIP=*.md
COPY --parents --exclude=$SKIP --exclude=**/tmp ./src/./pkg docs /dst/
