FROM alpine
ADD --checksum=sha256:abc https://x/y /y
