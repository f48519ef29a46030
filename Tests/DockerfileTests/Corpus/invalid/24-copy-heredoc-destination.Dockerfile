FROM alpine
COPY a <<EOF
hi
EOF
