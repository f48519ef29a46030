FROM alpine AS base
FROM alpine
COPY --chown=55:mygroup files* /somedir/
COPY --chown=bin files* /somedir/
COPY --chmod=0644 --link a.txt b.txt /dst/
COPY --from=base /etc/os-release /
COPY --from=0 /etc/hostname /h
COPY --from=nginx:latest /etc/nginx/nginx.conf /nginx.conf
COPY ["with space.txt", "/dest dir/"]
COPY -- --dashfile /x
