FROM alpine
ARG PORT=8080
COPY <<EOF /etc/app.conf
port=$PORT
quoted="$PORT" 'literal $PORT' \$PORT don't
EOF
COPY <<'EOF' /etc/raw.conf
port=$PORT
EOF
COPY --chmod=0755 <<-EOT /usr/local/bin/
	#!/bin/sh
	echo $PORT
	EOT
ADD <<one <<two /etc/
1
one
2
two
LABEL a=<<EOF
