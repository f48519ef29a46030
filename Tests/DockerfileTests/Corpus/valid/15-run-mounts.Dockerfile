FROM golang:1.22
RUN --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=cache,target=/go/pkg/mod,id=gomod,sharing=locked,mode=0700,uid=1000,gid=1000 \
    go build ./...
RUN --mount=type=secret,id=aws,target=/root/.aws/credentials,required=true,mode=0440,uid=0 aws s3 ls
RUN --mount=type=secret,id=token cat /run/secrets/token
RUN --mount=type=bind,source=go.mod,target=go.mod,rw --network=none go mod verify
RUN --mount=target=/src true
RUN --mount=type=tmpfs,target=/tmp,size=64m --network=host ls /tmp
