FROM alpine
ARG NAME=world
RUN <<EOF
echo "hello $NAME"
# a comment stays in the script

EOF
RUN <<-EOT sh -e
	echo tabs
	EOT
RUN <<A cat > /a && 3<<"B" cat > /b
first $NAME
A
second $NAME
B
RUN echo "<<NOTHEREDOC" \
    && echo done
RUN ["echo", "<<EOF"]
