FROM ubuntu
VOLUME /myvol
VOLUME ["/data", "/var/log"]
VOLUME /a /b
