FROM alpine builder
