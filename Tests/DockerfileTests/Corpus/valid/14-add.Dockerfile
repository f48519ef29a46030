FROM alpine
ADD hom* /mydir/
ADD --chown=1:2 --chmod=755 https://example.com/app.tar.gz /opt/
ADD archive.tar.xz /usr/src/
ADD --link ["a b", "c"]
